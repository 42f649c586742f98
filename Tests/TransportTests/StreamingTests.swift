import Foundation
import Testing

@testable import Transport

@Suite struct StreamingTests {
    static let megabyte = 1024 * 1024

    /// Byte `index` of the streamed test body: a pattern that catches lost, repeated or reordered pieces.
    static func patternByte(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: index &* 31 &+ index >> 20) }

    @Test func streamsTwentyMegabytesChunkedIntoASink() throws {
        try withServer(handler: { _ in
            HTTPResponse(status: 200, headers: [("content-type", "application/octet-stream")], body: .stream { writer in
                for chunk in 0..<20 {
                    try writer.write((0..<Self.megabyte).map { Self.patternByte(chunk * Self.megabyte + $0) })
                }
            })
        }) { server in
            var receivedCount = 0
            var mismatchCount = 0
            var largestPiece = 0
            let response = try client(server).stream("GET", "/export") { piece in
                for (offset, byte) in piece.enumerated() where byte != Self.patternByte(receivedCount + offset) { mismatchCount += 1 }
                receivedCount += piece.count
                largestPiece = max(largestPiece, piece.count)
            }
            #expect(response.status == 200)
            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.body.isEmpty)
            #expect(receivedCount == 20 * Self.megabyte)
            #expect(mismatchCount == 0)
            #expect(largestPiece <= 64 * 1024)  // handed over in pieces, never held whole
        }
    }

    @Test func aStreamThatThrowsAbortsOnlyItsConnection() throws {
        struct ExportFailed: Error {}
        try withServer(handler: { request in
            guard request.path == "/fails" else { return .text(200, "ok") }
            return HTTPResponse(status: 200, body: .stream { writer in
                try writer.write(Array("partial".utf8))
                throw ExportFailed()
            })
        }) { server in
            #expect(throws: TransportError.connectionClosed) { try client(server).request("GET", "/fails") }
            try expectStillServes(server)
        }
    }

    @Test func aWriterThrowsWhenTheClientIsGone() throws {
        let writerFailed = DispatchSemaphore(value: 0)
        try withServer(configure: { $0.writeTimeoutMs = 2_000 }, handler: { request in
            guard request.path == "/endless" else { return .text(200, "ok") }
            return HTTPResponse(status: 200, body: .stream { writer in
                defer { writerFailed.signal() }
                for _ in 0..<1_000 { try writer.write([UInt8](repeating: 7, count: Self.megabyte)) }
            })
        }) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
            connection.socket.close()
            #expect(writerFailed.wait(timeout: .now() + 5) == .success)
            try waitUntil { server.statistics.openConnections == 0 }
            try expectStillServes(server)
        }
    }

    @Test func http10ClientsGetTheStreamDelimitedByClose() throws {
        try withServer(handler: { _ in
            HTTPResponse(status: 200, body: .stream { writer in
                try writer.write(Array("one ".utf8))
                try writer.write(Array("two".utf8))
            })
        }) { server in
            let connection = try RawConnection(port: server.port)
            try connection.send("GET / HTTP/1.0\r\n\r\n")
            let (text, closed) = connection.readUntilClosed()
            #expect(!text.contains("transfer-encoding"))
            #expect(text.hasSuffix("\r\n\r\none two"))
            #expect(closed)
        }
    }
}
