package chain_test

import "math/big"

func bigID(id uint64) *big.Int { return new(big.Int).SetUint64(id) }
