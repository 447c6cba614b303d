import ArgumentParser
import TierCore

struct PoliciesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "policies", abstract: "List the eviction and admission policies and their parameters.")

    func run() throws {
        for p in Policies.all {
            print(p.name)
            for (key, help) in p.parameterHelp { print("    \(key): \(help)") }
        }
        print("admission: \(BuiltinAdmission.names.joined(separator: ", "))")
    }
}
