print("healthledger: not built yet")
