import ArgumentParser

struct MRCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mrc", abstract: "LRU miss-ratio curve in one pass.")
}
