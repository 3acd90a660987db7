package ledger

// Exported for the benchmarks.
const (
	InsertReceiptsSQL = insertReceipts
	InsertCreditsSQL  = insertCredits
)
