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
    /// before it, and the log accepts appends afterwards. A cut that leaves only zeros after them (a header's
    /// first length bytes, or the end marker) is not a torn tail: zeros are where the log ends anyway.
    @Test func tornTailIsCutAtEveryByte() throws {
        let scratch = ScratchDirectory()
        let written = records(3, seed: 2, maxLength: 40) + [[]]
        let path = scratch.file("wal")
        do {
            let log = try WriteAheadLog(path: path, growthBytes: 0)
            for record in written { try log.append(record, sync: true) }
        }
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        let frameEnds = written.reduce(into: [WriteAheadLog.magic.count]) { $0.append($0.last! + 12 + $1.count) }
        #expect(full.count == frameEnds.last! + 12, "the last frame is followed by an all-zero header, and nothing else")
        for cut in stride(from: WriteAheadLog.magic.count, through: full.count, by: 1) {
            try full.prefix(cut).write(to: URL(fileURLWithPath: path))
            let log = try WriteAheadLog(path: path, growthBytes: 0)
            let whole = frameEnds.filter { $0 <= cut }.count - 1
            #expect(log.recovered == Array(written.prefix(whole)), "cut at \(cut)")
            let tailAfterWholeFrames = full[frameEnds[whole]..<cut]
            #expect(log.truncatedTail == tailAfterWholeFrames.contains { $0 != 0 }, "cut at \(cut): only zeros after the whole frames is free space")
            try log.append([9, 9, 9], sync: true)
            #expect(try WriteAheadLog(path: path).recovered == Array(written.prefix(whole)) + [[9, 9, 9]])
        }
    }

    /// The file grows ahead of its records, a chunk at a time, so most appends leave its size alone (a sync
    /// then writes the records only); the zeros after the last record are free space, not a torn tail.
    @Test func fileGrowsAheadOfItsRecords() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("wal")
        let written = records(200, seed: 5, maxLength: 200)
        let log = try WriteAheadLog(path: path, growthBytes: 4096)
        var sizes: Set<Int> = []
        for record in written {
            try log.append(record, sync: true)
            sizes.insert(try fileSize(path))
            #expect(try fileSize(path) >= log.byteCount + 12)
        }
        let recordBytes = written.reduce(0) { $0 + 12 + $1.count }
        #expect(sizes.count <= recordBytes / 4096 + 1, "grown \(sizes.count) times for \(recordBytes) bytes of frames")
        let reopened = try WriteAheadLog(path: path, growthBytes: 4096)
        #expect(reopened.recovered == written && !reopened.truncatedTail)
        #expect(reopened.byteCount == log.byteCount)
    }

    /// A reset keeps the file's size; the records after it overwrite the old ones, and a reopened log holds
    /// the new records only.
    @Test func resetKeepsTheFileAndOldRecordsAreNotRead() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("wal")
        let log = try WriteAheadLog(path: path, growthBytes: 1024)
        for record in records(40, seed: 6) { try log.append(record, sync: false) }
        try log.sync()
        let grownBytes = try fileSize(path)
        try log.reset()
        #expect(try fileSize(path) == grownBytes)
        let after = records(3, seed: 7)
        for record in after { try log.append(record, sync: true) }
        #expect(try fileSize(path) == grownBytes)
        let reopened = try WriteAheadLog(path: path)
        #expect(reopened.recovered == after && !reopened.truncatedTail)
    }

    /// Appends, resets and reopenings in a seeded random order, against a model that is the list of records
    /// since the last reset: a reopened log always holds exactly that list.
    @Test func randomAppendsResetsAndReopeningsMatchTheModel() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("wal")
        var random = SeededRandom(seed: 8)
        var model: [[UInt8]] = []
        var log: WriteAheadLog? = try WriteAheadLog(path: path, growthBytes: 512)
        for step in 0..<600 {
            switch random.next() % 10 {
            case 0:
                try log!.reset()
                model = []
            case 1:
                log = nil
                log = try WriteAheadLog(path: path, growthBytes: 512)
                #expect(log!.recovered == model, "step \(step)")
                #expect(!log!.truncatedTail, "step \(step)")
            default:
                let record = random.bytes(Int(random.next() % 700))
                try log!.append(record, sync: random.next() % 2 == 0)
                model.append(record)
            }
        }
    }

    private func fileSize(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
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

    /// The records read at open are freed on request; the log itself is unchanged and keeps appending.
    @Test func releasingTheRecoveredRecordsLeavesTheLogAlone() throws {
        let scratch = ScratchDirectory()
        let written = records(5, seed: 9)
        do {
            let log = try WriteAheadLog(path: scratch.file("wal"))
            for record in written { try log.append(record, sync: true) }
        }
        let reopened = try WriteAheadLog(path: scratch.file("wal"))
        #expect(reopened.recovered == written)
        reopened.releaseRecovered()
        #expect(reopened.recovered.isEmpty)
        try reopened.append([7], sync: true)
        #expect(try WriteAheadLog(path: scratch.file("wal")).recovered == written + [[7]])
    }

    @Test func foreignFileIsRefusedAndLeftAlone() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("wal")
        try Data("not a log".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: StorageError.self) { try WriteAheadLog(path: path) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("not a log".utf8))
    }
}
