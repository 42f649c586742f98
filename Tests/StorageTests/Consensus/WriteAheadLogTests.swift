import Foundation
import Testing
import Storage
import TestSupport

@Suite struct WriteAheadLogTests {
    private func records(_ count: Int, seed: UInt64, maxLength: UInt64 = 300) -> [[UInt8]] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { _ in random.bytes(Int(random.next() % maxLength)) }
    }

    @Test func recordsSurviveReopeningInOrder() throws {
        let scratch = ScratchDirectory()
        let written = records(50, seed: 1)
        do {
            let log = try WriteAheadLog(path: scratch.file("wal"))
            #expect(log.recovered.isEmpty && log.wasCreated)
            for (index, record) in written.enumerated() { try log.append(record, sync: index % 7 == 0) }
        }
        let reopened = try WriteAheadLog(path: scratch.file("wal"))
        #expect(reopened.recovered == written)
        #expect(!reopened.truncatedTail && !reopened.wasCreated)
    }

    /// A crash in the middle of a write leaves part of a frame: every cut point keeps exactly the whole frames
    /// before it, and the log accepts appends afterwards.
    @Test func tornTailIsCutAtEveryByte() throws {
        let scratch = ScratchDirectory()
        let written = records(3, seed: 2, maxLength: 40) + [[]]
        let path = scratch.file("wal")
        do {
            let log = try WriteAheadLog(path: path)
            for record in written { try log.append(record, sync: true) }
        }
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        let frameEnds = written.reduce(into: [WriteAheadLog.magic.count]) { $0.append($0.last! + 12 + $1.count) }
        for cut in stride(from: WriteAheadLog.magic.count, through: full.count, by: 1) {
            try full.prefix(cut).write(to: URL(fileURLWithPath: path))
            let log = try WriteAheadLog(path: path)
            let whole = frameEnds.filter { $0 <= cut }.count - 1
            #expect(log.recovered == Array(written.prefix(whole)), "cut at \(cut)")
            #expect(log.truncatedTail == !frameEnds.contains(cut))
            try log.append([9, 9, 9], sync: true)
            #expect(try WriteAheadLog(path: path).recovered == Array(written.prefix(whole)) + [[9, 9, 9]])
        }
    }

    /// A flipped bit inside a frame ends the log there: nothing after a damaged frame is trusted.
    @Test func damagedFrameEndsTheLog() throws {
        let scratch = ScratchDirectory()
        let written = records(4, seed: 3).map { $0 + [1] }
        let path = scratch.file("wal")
        do {
            let log = try WriteAheadLog(path: path)
            for record in written { try log.append(record, sync: false) }
            try log.sync()
        }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let secondPayload = WriteAheadLog.magic.count + 12 + written[0].count + 12
        bytes[secondPayload] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let log = try WriteAheadLog(path: path)
        #expect(log.recovered == [written[0]])
        #expect(log.truncatedTail)
    }

    @Test func resetEmptiesTheLog() throws {
        let scratch = ScratchDirectory()
        let log = try WriteAheadLog(path: scratch.file("wal"))
        try log.append([1, 2, 3], sync: true)
        try log.reset()
        try log.append([4], sync: true)
        #expect(try WriteAheadLog(path: scratch.file("wal")).recovered == [[4]])
        try log.reset()
        let emptied = try WriteAheadLog(path: scratch.file("wal"))
        #expect(emptied.recovered.isEmpty && !emptied.wasCreated, "an emptied log is not a new one")
    }

    @Test func foreignFileIsRefusedAndLeftAlone() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("wal")
        try Data("not a log".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StorageError.self) { try WriteAheadLog(path: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("not a log".utf8))
    }
}
