import Foundation

extension Pipe {
    /// The first line a child process writes to this pipe, as a JSON object, read as soon as it is complete
    /// (the process goes on running); nil when the pipe ends first or the line is not a JSON object.
    /// `healthledger node --json` prints `{"url": ...}` this way once it serves.
    public func firstJSONLine() -> [String: Any]? {
        var line = Data()
        let handle = fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            guard !chunk.isEmpty else { break }
            line.append(chunk)
        }
        return (try? JSONSerialization.jsonObject(with: line)) as? [String: Any]
    }
}
