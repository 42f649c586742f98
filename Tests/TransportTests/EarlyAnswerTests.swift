import Dispatch
import Foundation
import Testing

@testable import Transport

/// A request answered by another thread while its handler still runs (`EarlyAnswer`), through a real server
/// and client on loopback.
@Suite struct EarlyAnswerTests {
    /// The early answer reaches the client while the handler is still blocked (the test releases it only
    /// after reading the answer); the handler's own response is never sent, and the kept-alive connection
    /// then serves the next request.
    @Test func anEarlyAnswerArrivesBeforeTheHandlerReturnsAndReplacesItsResponse() throws {
        let handlerMayReturn = DispatchSemaphore(value: 0)
        let answeredTwice = LockedBox(false)
        try withServer(handler: { request in
            guard request.path == "/wait", let early = request.earlyAnswer else { return echo(request) }
            let answered = DispatchSemaphore(value: 0)
            Thread {
                _ = early.send(.text(200, "early"))
                answered.signal()
            }.start()
            answered.wait()
            answeredTwice.set(early.send(.text(200, "twice")))
            handlerMayReturn.wait()
            return .text(500, "the handler's own response")
        }) { server in
            let client = try client(server)
            let early = try client.request("POST", "/wait", body: Array("x".utf8))
            #expect(early.status == 200 && String(decoding: early.body, as: UTF8.self) == "early")
            handlerMayReturn.signal()
            let next = try client.request("GET", "/next")
            #expect(next.status == 200 && String(decoding: next.body, as: UTF8.self) == "GET /next")
        }
        #expect(!answeredTwice.get(), "a request is answered once")
    }

    /// An answer larger than the socket takes at once: the rest goes out from the connection's thread after
    /// the handler returns, and the client receives it whole.
    @Test func anEarlyAnswerTheSocketCannotTakeAtOnceIsFinishedByTheConnection() throws {
        let body = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try withServer(handler: { request in
            #expect(request.earlyAnswer?.send(.json(200, body)) == true)
            return .text(500, "the handler's own response")
        }) { server in
            let response = try client(server, timeoutMs: 30_000).request("GET", "/large")
            #expect(response.status == 200 && response.body == body)
        }
    }

    /// Too late once the handler returned: `send` answers false and the handler's response is the one sent.
    @Test func afterTheHandlerReturnedTheEarlyAnswerIsRefused() throws {
        let kept = LockedBox<EarlyAnswer?>(nil)
        try withServer(handler: { request in
            kept.set(request.earlyAnswer)
            return .text(200, "from the handler")
        }) { server in
            let response = try client(server).request("GET", "/once")
            #expect(String(decoding: response.body, as: UTF8.self) == "from the handler")
            #expect(kept.get()?.send(.text(200, "late")) == false)
            #expect(kept.get()?.hasAnswered == false)
        }
    }
}
