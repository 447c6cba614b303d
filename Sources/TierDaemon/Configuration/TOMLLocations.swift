/// The line on which each table and key of a TOML document is written.
///
/// The TOML parser reports where syntax breaks but keeps no positions for values, so a value
/// that parses yet makes no sense (an unknown policy, a negative floor) is located here, by a
/// scan of the text that follows table headers and `key =` lines. Table paths name the n-th
/// element of an array of tables as `target[n]` (0-based).
struct TOMLLocations {
    private var tableLines: [String: Int] = [:]
    private var keyLines: [String: Int] = [:]

    init(text: String) {
        var arrayCounts: [String: Int] = [:]
        var current = ""
        var lineNumber = 0
        var inMultilineString: String? = nil
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingSpaces()
            if let delimiter = inMultilineString {
                if Self.count(of: delimiter, in: line) % 2 == 1 { inMultilineString = nil }
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[[") {
                guard let end = line.firstRange(of: "]]") else { continue }
                let name = Self.normalise(String(line[line.index(line.startIndex, offsetBy: 2)..<end.lowerBound]))
                let index = arrayCounts[name, default: 0]
                arrayCounts[name] = index + 1
                current = "\(name)[\(index)]"
                tableLines[current] = lineNumber
            } else if line.hasPrefix("[") {
                guard let end = line.firstIndex(of: "]") else { continue }
                let name = Self.normalise(String(line[line.index(after: line.startIndex)..<end]))
                current = Self.resolve(name, arrayCounts: arrayCounts)
                tableLines[current] = lineNumber
            } else if let equals = Self.assignment(in: line) {
                let dotted = Self.normalise(String(line[..<equals]))
                var parts = dotted.split(separator: ".").map(String.init)
                guard let key = parts.popLast() else { continue }
                let table = ([current] + parts).filter { !$0.isEmpty }.joined(separator: ".")
                keyLines[Self.join(table, key)] = lineNumber
                let value = line[line.index(after: equals)...].trimmingSpaces()
                for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) && Self.count(of: delimiter, in: value) == 1 {
                    inMultilineString = delimiter
                }
            }
        }
    }

    /// The line of `key` in `table` ("" for the top level), if written.
    func line(of key: String, in table: String) -> Int? {
        keyLines[Self.join(table, key)]
    }

    /// The line of the header of `table`, if it has one.
    func line(ofTable table: String) -> Int? {
        tableLines[table]
    }

    private static func join(_ table: String, _ key: String) -> String {
        table.isEmpty ? key : "\(table).\(key)"
    }

    /// `target.parameters` written after the n-th `[[target]]` means `target[n].parameters`.
    private static func resolve(_ name: String, arrayCounts: [String: Int]) -> String {
        // Array counts are keyed by the plain dotted name (nested arrays of tables are rare in
        // a daemon configuration; they resolve to their last element's parent, which is enough
        // to point at a line).
        var plain: [String] = []
        var resolved: [String] = []
        for part in name.split(separator: ".").map(String.init) {
            plain.append(part)
            if let count = arrayCounts[plain.joined(separator: ".")], count > 0 {
                resolved.append("\(part)[\(count - 1)]")
            } else {
                resolved.append(part)
            }
        }
        return resolved.joined(separator: ".")
    }

    /// Removes quotes and spaces around dotted key parts: `"a" . b` → `a.b`.
    private static func normalise(_ key: String) -> String {
        key.split(separator: ".").map { part in
            var p = part.trimmingSpaces()
            if p.count >= 2, let first = p.first, first == "\"" || first == "'", p.last == first {
                p = String(p.dropFirst().dropLast())
            }
            return p
        }.joined(separator: ".")
    }

    /// The `=` of a `key = value` line (outside quoted key parts).
    private static func assignment(in line: String) -> String.Index? {
        var quote: Character? = nil
        for index in line.indices {
            let c = line[index]
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == "=" {
                return index
            }
        }
        return nil
    }

    private static func count(of needle: String, in haystack: String) -> Int {
        var count = 0
        var rest = Substring(haystack)
        while let range = rest.firstRange(of: needle) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
