import Testing
@testable import TierHost

@Suite struct SystemCallErrorTests {
    @Test func describesOperationErrnoAndDetail() {
        let error = SystemCallError("open /proc/1/pagemap", errno: 13, detail: "needs root")
        #expect(error.description == "open /proc/1/pagemap failed: Permission denied (errno 13): needs root")
        #expect(SystemCallError("parse smaps", errno: 0).description == "parse smaps failed")
    }
}
