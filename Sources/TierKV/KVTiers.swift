import Logging
import TierCore
import TierHost

/// Errors building a KV tier from names and sizes.
public enum KVTierError: Error, Equatable, CustomStringConvertible {
    case policy(String)
    case system(SystemCallError)

    public var description: String {
        switch self {
        case .policy(let why): return "kv tier: \(why)"
        case .system(let e): return "kv tier: \(e)"
        }
    }
}

/// Builds tiers from command-line names through TierCore's policy registry.
public enum KVTiers {
    /// A tier over `memory` with the eviction policy named `policy` (`lru`, `s3fifo:small=0.2`,
    /// ...) and the admission policy named `admission` (`always`, `prob:prob=0.5`, ...). The
    /// policy's capacity is the pool's block count (object mode: one unit per block).
    public static func make(
        memory: any KVBlockMemory, policy: String = "lru", admission: String = "always",
        swap: KVSwapConfiguration? = nil, resume: KVResumeMode = .auto,
        logger: Logger = Logger(label: "tierkit.kv", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(KVTierError) -> any KVBlockTier {
        let descriptor: PolicyDescriptor
        var parameters: PolicyParameters
        let admissionPolicy: BuiltinAdmission
        do {
            (descriptor, parameters) = try Policies.parse(policy)
            guard !descriptor.needsNextAccess else {
                throw PolicyError("policy '\(descriptor.name)' needs future accesses, which a live cache does not know")
            }
            admissionPolicy = try AdmissionSpec(parsing: admission).make()
        } catch {
            throw .policy("\(error)")
        }
        return try build(descriptor.policyType, memory: memory, parameters: &parameters, admission: admissionPolicy,
                         swap: swap, resume: resume, logger: logger)
    }

    /// Opens the policy's type so the tier is specialised on it.
    private static func build<P: EvictionPolicy>(
        _ type: P.Type, memory: any KVBlockMemory, parameters: inout PolicyParameters, admission: BuiltinAdmission,
        swap: KVSwapConfiguration?, resume: KVResumeMode, logger: Logger
    ) throws(KVTierError) -> any KVBlockTier {
        let policy: P
        do { policy = try P(capacity: Int64(memory.blockCount), parameters: &parameters) } catch { throw .policy("\(error)") }
        do {
            return try KVTier(memory: memory, policy: policy, admission: admission, swap: swap, resume: resume, logger: logger)
        } catch {
            throw .system(error)
        }
    }
}
