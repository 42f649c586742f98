import Testing

@testable import Node

/// Which requests lower their connection thread below the consensus threads (`Router.isBulk`): the large
/// ones; a single transaction, an access or a read keeps the consensus threads' priority.
@Suite struct RequestPriorityTests {
    @Test func largeWorkIsBulk() {
        for (method, path) in [("POST", "/v1/transactions/batch"), ("POST", "/v1/diagnose"), ("POST", "/v1/plan"),
                               ("GET", "/v1/chain/export"), ("POST", "//v1/transactions/batch/")] {
            #expect(Router.isBulk(method, Router.segments(of: path)), "\(method) \(path)")
        }
    }

    @Test func singleRequestsAreNot() {
        for (method, path) in [("POST", "/v1/transactions"), ("POST", "/v1/access"), ("POST", "/v1/records"),
                               ("GET", "/v1/chain/head"), ("GET", "/v1/transactions/batch"), ("GET", "/v1/records/abc")] {
            #expect(!Router.isBulk(method, Router.segments(of: path)), "\(method) \(path)")
        }
    }
}
