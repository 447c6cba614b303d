import Testing
@testable import TierDaemon
