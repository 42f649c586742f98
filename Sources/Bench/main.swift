print("healthledger-bench: not built yet")
