import Foundation
import Testing
import Storage
import TestSupport

@Suite struct SignerStateFileTests {
    private func contents(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    private func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    @Test func savesSurviveReopening() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("signer.state")
        #expect(try SignerStateFile(path: path).loaded == nil)
        var random = SeededRandom(seed: 7)
        var last: [UInt8] = []
        do {
            let file = try SignerStateFile(path: path)
            for _ in 0..<25 {
                last = random.bytes(1 + Int(random.next() % 200))
                try file.save(last)
            }
        }
        #expect(try SignerStateFile(path: path).loaded == last)
        // Written in place: the file keeps its three-slot size whatever was saved.
        #expect(try contents(path).count == 3 * 4096)
        let reopened = try SignerStateFile(path: path)
        try reopened.save([9, 9])
        #expect(try SignerStateFile(path: path).loaded == [9, 9])
    }

    /// A save torn by a crash, at any byte, leaves the save before it (whose signature is the last that left
    /// the node), never a mix and never a refusal.
    @Test func aTornSaveLeavesThePreviousState() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("signer.state")
        let file = try SignerStateFile(path: path)
        try file.save(Array("first".utf8))
        try file.save(Array("second".utf8))
        let beforeThird = try contents(path)
        try file.save(Array("the third state".utf8))
        let afterThird = try contents(path)
        let changed = afterThird.indices.filter { afterThird[$0] != beforeThird[$0] }
        #expect(!changed.isEmpty)
        for cut in changed {
            // The third save reached the disk up to (not including) byte `cut`.
            var torn = afterThird
            for index in changed where index >= cut { torn[index] = beforeThird[index] }
            try write(torn, to: path)
            #expect(try SignerStateFile(path: path).loaded == Array("second".utf8), "cut at byte \(cut)")
        }
        try write(afterThird, to: path)
        #expect(try SignerStateFile(path: path).loaded == Array("the third state".utf8))
    }

    @Test func aFileWithNoValidSlotIsRefused() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("signer.state")
        let file = try SignerStateFile(path: path)
        try file.save([1, 2, 3])
        try file.save([4, 5, 6])
        var bytes = try contents(path)
        bytes[4096 + 13] ^= 0xff
        bytes[2 * 4096 + 13] ^= 0xff
        try write(bytes, to: path)
        #expect(throws: StorageError.self) { try SignerStateFile(path: path) }
        try write(Array(bytes.dropLast()), to: path)
        #expect(throws: StorageError.self) { try SignerStateFile(path: path) }
        try write(Array("not a signer state".utf8), to: path)
        #expect(throws: StorageError.self) { try SignerStateFile(path: path) }
    }

    /// A file of the first format (one frame after its magic line, replaced on every save) is read, and the
    /// first save rewrites it in the slotted format.
    @Test func aFirstFormatFileIsReadAndRewritten() throws {
        let scratch = ScratchDirectory()
        let path = scratch.file("signer.state")
        let state: [UInt8] = [1, 2, 3, 4]
        // healthledger-signer-state/1: magic, u32 length, first 8 bytes of SHA-256(state), state.
        let checksum: [UInt8] = [0x9f, 0x64, 0xa7, 0x47, 0xe1, 0xb9, 0x7f, 0x13]
        try write(Array("healthledger-signer-state/1\n".utf8) + [0, 0, 0, 4] + checksum + state, to: path)
        let file = try SignerStateFile(path: path)
        #expect(file.loaded == state)
        try file.save([5, 6])
        #expect(try contents(path).starts(with: Array("healthledger-signer-state/2\n".utf8)))
        #expect(try SignerStateFile(path: path).loaded == [5, 6])
        var damaged = Array("healthledger-signer-state/1\n".utf8) + [0, 0, 0, 4] + checksum + state
        damaged[damaged.count - 1] ^= 1
        try write(damaged, to: path)
        #expect(throws: StorageError.self) { try SignerStateFile(path: path) }
    }
}
