// Code generated via abigen V2 - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package bindings

import (
	"bytes"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = bytes.Equal
	_ = errors.New
	_ = big.NewInt
	_ = common.Big1
	_ = types.BloomLookup
	_ = abi.ConvertType
)

// ReputationTrackerMetaData contains all meta data concerning the ReputationTracker contract.
var ReputationTrackerMetaData = bind.MetaData{
	ABI: "[{\"type\":\"constructor\",\"inputs\":[{\"name\":\"tracker_\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"initialCredit_\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"referrer_\",\"type\":\"address\",\"internalType\":\"address\"}],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"MAX_BATCH_SIZE\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"MAX_REFERRER_DEPTH\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"batchRoot\",\"inputs\":[{\"name\":\"batchId\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"root\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"canLeech\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"left\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"allowed\",\"type\":\"bool\",\"internalType\":\"bool\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"digest\",\"inputs\":[{\"name\":\"infohash\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"sender\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"receiver\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"pieceHash\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"pieceIndex\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"pieceSize\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"timestamp\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"receiptDigest\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"findReputation\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"hops\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"uploadBytes\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"downloadBytes\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"lastUpdated\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"source\",\"type\":\"address\",\"internalType\":\"address\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"getLocalReputation\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"}],\"outputs\":[{\"name\":\"uploadBytes\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"downloadBytes\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"lastUpdated\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"known\",\"type\":\"bool\",\"internalType\":\"bool\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"getRatio\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"}],\"outputs\":[{\"name\":\"ratioWad\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"getReputation\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"}],\"outputs\":[{\"name\":\"uploadBytes\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"downloadBytes\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"lastUpdated\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"known\",\"type\":\"bool\",\"internalType\":\"bool\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"initialCredit\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"isRegistered\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"}],\"outputs\":[{\"name\":\"registered\",\"type\":\"bool\",\"internalType\":\"bool\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"lastBatchId\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"receiptLeaf\",\"inputs\":[{\"name\":\"receiptDigest\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"outputs\":[{\"name\":\"leaf\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"}],\"stateMutability\":\"pure\"},{\"type\":\"function\",\"name\":\"referrer\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"address\",\"internalType\":\"address\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"register\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"}],\"outputs\":[],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"registerBatch\",\"inputs\":[{\"name\":\"agents\",\"type\":\"address[]\",\"internalType\":\"address[]\"}],\"outputs\":[{\"name\":\"registered\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"settle\",\"inputs\":[{\"name\":\"batchId\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"receiptsRoot\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"agents\",\"type\":\"address[]\",\"internalType\":\"address[]\"},{\"name\":\"uploadDeltas\",\"type\":\"uint256[]\",\"internalType\":\"uint256[]\"},{\"name\":\"downloadDeltas\",\"type\":\"uint256[]\",\"internalType\":\"uint256[]\"}],\"outputs\":[],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"tracker\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"address\",\"internalType\":\"address\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"verifyReceipt\",\"inputs\":[{\"name\":\"batchId\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"receiptDigest\",\"type\":\"bytes32\",\"internalType\":\"bytes32\"},{\"name\":\"proof\",\"type\":\"bytes32[]\",\"internalType\":\"bytes32[]\"}],\"outputs\":[{\"name\":\"valid\",\"type\":\"bool\",\"internalType\":\"bool\"}],\"stateMutability\":\"view\"},{\"type\":\"event\",\"name\":\"AgentImported\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"source\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"uploadBytes\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"downloadBytes\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"AgentRegistered\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"initialCredit\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"BatchSettled\",\"inputs\":[{\"name\":\"batchId\",\"type\":\"uint256\",\"indexed\":true,\"internalType\":\"uint256\"},{\"name\":\"receiptsRoot\",\"type\":\"bytes32\",\"indexed\":false,\"internalType\":\"bytes32\"},{\"name\":\"agentCount\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"totalUploadDelta\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"totalDownloadDelta\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"event\",\"name\":\"ReputationUpdated\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"batchId\",\"type\":\"uint256\",\"indexed\":true,\"internalType\":\"uint256\"},{\"name\":\"uploadBytes\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"},{\"name\":\"downloadBytes\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"error\",\"name\":\"AlreadyRegistered\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"}]},{\"type\":\"error\",\"name\":\"BadBatchId\",\"inputs\":[{\"name\":\"expected\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"got\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"BatchTooLarge\",\"inputs\":[{\"name\":\"size\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"max\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"EmptyBatch\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"InitialCreditTooLarge\",\"inputs\":[{\"name\":\"initialCredit\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"LengthMismatch\",\"inputs\":[{\"name\":\"agents\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"uploadDeltas\",\"type\":\"uint256\",\"internalType\":\"uint256\"},{\"name\":\"downloadDeltas\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"NotTracker\",\"inputs\":[{\"name\":\"caller\",\"type\":\"address\",\"internalType\":\"address\"}]},{\"type\":\"error\",\"name\":\"ReferrerNotContract\",\"inputs\":[{\"name\":\"referrer\",\"type\":\"address\",\"internalType\":\"address\"}]},{\"type\":\"error\",\"name\":\"ReputationOverflow\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"}]},{\"type\":\"error\",\"name\":\"UnknownAgent\",\"inputs\":[{\"name\":\"agent\",\"type\":\"address\",\"internalType\":\"address\"}]},{\"type\":\"error\",\"name\":\"ZeroAddress\",\"inputs\":[]},{\"type\":\"error\",\"name\":\"ZeroReceiptsRoot\",\"inputs\":[]}]",
	ID:  "ReputationTracker",
	Bin: "0x60e060405234801561000f575f5ffd5b506040516115f83803806115f883398101604081905261002e91610106565b6001600160a01b0383166100555760405163d92e233d60e01b815260040160405180910390fd5b6001600160701b0382111561008557604051631408217360e11b8152600481018390526024015b60405180910390fd5b6001600160a01b038116158015906100a557506001600160a01b0381163b155b156100ce57604051632c61d58360e11b81526001600160a01b038216600482015260240161007c565b6001600160a01b0392831660805260a0919091521660c05261013f565b80516001600160a01b0381168114610101575f5ffd5b919050565b5f5f5f60608486031215610118575f5ffd5b610121846100eb565b925060208401519150610136604085016100eb565b90509250925092565b60805160a05160c0516114656101935f395f81816101f501528181610e4a0152610eb701525f81816103fe0152610cb201525f81816104250152818161045f015281816105a3015261082c01526114655ff3fe608060405234801561000f575f5ffd5b5060043610610149575f3560e01c80639c17d103116100c7578063cfdbf2541161007d578063e4fbbf3e11610063578063e4fbbf3e1461036f578063f488d893146103f9578063f52bccad14610420575f5ffd5b8063cfdbf2541461031d578063d6699ef414610326575f5ffd5b8063a1d60be0116100ad578063a1d60be0146102ef578063a2d5845e146102f7578063c3c5a5471461030a575f5ffd5b80639c17d103146102c95780639c89a0e2146102dc575f5ffd5b806356c7880b1161011c57806368447c931161010257806368447c93146101f0578063754b27071461023c578063906d2a351461024f575f5ffd5b806356c7880b146101c55780635b5eee88146101e8575f5ffd5b806338386c121461014d5780634420e4861461017e57806345ebd45a14610193578063509b368c146101a6575b5f5ffd5b61016b61015b3660046110fe565b5f90815260208082208252902090565b6040519081526020015b60405180910390f35b61019161018c366004611136565b610447565b005b61016b6101a13660046111a0565b61058a565b61016b6101b43660046110fe565b60016020525f908152604090205481565b6101d86101d33660046111df565b61074b565b6040519015158152602001610175565b61016b5f5481565b6102177f000000000000000000000000000000000000000000000000000000000000000081565b60405173ffffffffffffffffffffffffffffffffffffffff9091168152602001610175565b61016b61024a366004611136565b61079a565b6102a761025d366004611136565b73ffffffffffffffffffffffffffffffffffffffff165f908152600260205260409020546dffffffffffffffffffffffffffff80821692607083901c9091169160e01c9081151590565b6040805194855260208501939093529183015215156060820152608001610175565b6101916102d7366004611209565b610814565b6102a76102ea366004611136565b610b56565b61016b600881565b6101d86103053660046112ba565b610b8f565b6101d8610318366004611136565b610bfb565b61016b61010081565b6103396103343660046111df565b610c05565b6040805194855260208501939093529183015273ffffffffffffffffffffffffffffffffffffffff166060820152608001610175565b61016b61037d366004611309565b60408051466020808301919091523082840152606082019990995273ffffffffffffffffffffffffffffffffffffffff97881660808201529590961660a086015260c085019390935260e08401919091526101008301526101208083019190915282518083039091018152610140909101909152805191012090565b61016b7f000000000000000000000000000000000000000000000000000000000000000081565b6102177f000000000000000000000000000000000000000000000000000000000000000081565b3373ffffffffffffffffffffffffffffffffffffffff7f000000000000000000000000000000000000000000000000000000000000000016146104bd576040517f70ba674d0000000000000000000000000000000000000000000000000000000081523360048201526024015b60405180910390fd5b73ffffffffffffffffffffffffffffffffffffffff811661050a576040517fd92e233d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b73ffffffffffffffffffffffffffffffffffffffff81165f908152600260205260409020541561057e576040517f45ed80e900000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff821660048201526024016104b4565b61058781610c25565b50565b5f3373ffffffffffffffffffffffffffffffffffffffff7f000000000000000000000000000000000000000000000000000000000000000016146105fc576040517f70ba674d0000000000000000000000000000000000000000000000000000000081523360048201526024016104b4565b815f819003610637576040517fc2e5347d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b61010081111561067e576040517fbb1cb70b0000000000000000000000000000000000000000000000000000000081526004810182905261010060248201526044016104b4565b5f5b81811015610743575f85858381811061069b5761069b611369565b90506020020160208101906106b09190611136565b905073ffffffffffffffffffffffffffffffffffffffff81166106ff576040517fd92e233d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b73ffffffffffffffffffffffffffffffffffffffff81165f90815260026020526040812054900361073a5761073381610c25565b8360010193505b50600101610680565b505092915050565b5f5f5f5f61075886610b56565b935050925092508061076f575f9350505050610794565b600183901b82811080159061078d57508561078a84836113c3565b10155b9450505050505b92915050565b5f5f5f5f6107a785610b56565b93505092509250806107bd57505f949350505050565b815f036107ee57507fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff949350505050565b8161080184670de0b6b3a76400006113d6565b61080b91906113ed565b95945050505050565b3373ffffffffffffffffffffffffffffffffffffffff7f00000000000000000000000000000000000000000000000000000000000000001614610885576040517f70ba674d0000000000000000000000000000000000000000000000000000000081523360048201526024016104b4565b5f546001018881146108cd576040517fd870007a00000000000000000000000000000000000000000000000000000000815260048101829052602481018a90526044016104b4565b508483811415806108de5750808214155b15610926576040517f8ee979f50000000000000000000000000000000000000000000000000000000081526004810182905260248101859052604481018390526064016104b4565b805f0361095f576040517fc2e5347d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6101008111156109a6576040517fbb1cb70b0000000000000000000000000000000000000000000000000000000081526004810182905261010060248201526044016104b4565b876109dd576040517fe8878c8400000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f60e06109e8610d19565b901b90505f5f5f5b84811015610ae957604435600582901b01602401355f8060a083901c15610a15575f5ffd5b825f52600260205260405f20915081549050805f03610a3a57610a3783610d2f565b90505b6dffffffffffffffffffffffffffff8460051b8060643560240101358160843560240101359150828416838560701c16808503841182860384111715610a8b57632ce69eb25f52876020526024601cfd5b8301607081901b9183019182178c1787555f9182526020526004359087907fc2fd17ad7e9f23b8607f0bd02d7a6cdcccd5a964fa99ce5a066ed34c5b4bb55b90604090a3979097019695909501945050600190920191506109f09050565b505f8c81558c8152600160209081526040918290208d905581518d8152908101869052908101839052606081018290528c907f7ce8d0718114d0801001928a98747e0236a5fa0ed8cbb0e640a5a52914d33a3d9060800160405180910390a2505050505050505050505050565b5f5f5f5f5f610b66866008610dee565b9299919850965073ffffffffffffffffffffffffffffffffffffffff9091161515945092505050565b5f8481526001602052604081205480610bab575f915050610bf3565b5f858152602080822082528120905b84811015610bee57610be482878784818110610bd857610bd8611369565b90506020020135610f89565b9150600101610bba565b501490505b949350505050565b5f61080b82610b56565b5f5f5f5f610c138686610dee565b93509350935093505b92959194509250565b5f5f5f610c33846008610dee565b935050925092505f73ffffffffffffffffffffffffffffffffffffffff168173ffffffffffffffffffffffffffffffffffffffff1614610c8057610c7984848484610fb5565b5050505050565b60e0610c8a610d19565b73ffffffffffffffffffffffffffffffffffffffff86165f81815260026020526040908190207f00000000000000000000000000000000000000000000000000000000000000009390941b831790935591517fd1b844701695237443dd884ed7193d9c8788f3befd35adc0910472eb166f330691610d0b9190815260200190565b60405180910390a250505050565b63ffffffff42165f819003610d2c575060015b90565b5f73ffffffffffffffffffffffffffffffffffffffff821615610da4575f5f5f610d5a856008610dee565b935050925092505f73ffffffffffffffffffffffffffffffffffffffff168173ffffffffffffffffffffffffffffffffffffffff1614610da05761080b85848484610fb5565b5050505b6040517f8d3e45f600000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff831660048201526024016104b4565b73ffffffffffffffffffffffffffffffffffffffff82165f908152600260205260408120548190819081908015610e48576dffffffffffffffffffffffffffff8181169550607082901c16935060e01c9150309050610c1c565b7f000000000000000000000000000000000000000000000000000000000000000073ffffffffffffffffffffffffffffffffffffffff161580610e89575085155b15610ea0575f5f5f5f945094509450945050610c1c565b73ffffffffffffffffffffffffffffffffffffffff7f00000000000000000000000000000000000000000000000000000000000000001663d6699ef488610ee860018a6113c3565b6040517fffffffff0000000000000000000000000000000000000000000000000000000060e085901b16815273ffffffffffffffffffffffffffffffffffffffff90921660048301526024820152604401608060405180830381865afa158015610f54573d5f5f3e3d5ffd5b505050506040513d601f19601f82011682018060405250810190610f789190611425565b929a91995097509095509350505050565b5f81831060018114610fa157825f5283602052610fa9565b835f52826020525b505060405f2092915050565b5f6dffffffffffffffffffffffffffff841180610fdf57506dffffffffffffffffffffffffffff83115b1561102e576040517f2ce69eb200000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff861660048201526024016104b4565b60e0611038610d19565b901b607084901b85171790508060025f8773ffffffffffffffffffffffffffffffffffffffff1673ffffffffffffffffffffffffffffffffffffffff1681526020019081526020015f20819055508173ffffffffffffffffffffffffffffffffffffffff168573ffffffffffffffffffffffffffffffffffffffff167fa4eefb1f2789a7d51a71740c2d992b50524dce7bd27889da1d02a84b26b5f44886866040516110ee929190918252602082015260400190565b60405180910390a3949350505050565b5f6020828403121561110e575f5ffd5b5035919050565b73ffffffffffffffffffffffffffffffffffffffff81168114610587575f5ffd5b5f60208284031215611146575f5ffd5b813561115181611115565b9392505050565b5f5f83601f840112611168575f5ffd5b50813567ffffffffffffffff81111561117f575f5ffd5b6020830191508360208260051b8501011115611199575f5ffd5b9250929050565b5f5f602083850312156111b1575f5ffd5b823567ffffffffffffffff8111156111c7575f5ffd5b6111d385828601611158565b90969095509350505050565b5f5f604083850312156111f0575f5ffd5b82356111fb81611115565b946020939093013593505050565b5f5f5f5f5f5f5f5f60a0898b031215611220575f5ffd5b8835975060208901359650604089013567ffffffffffffffff811115611244575f5ffd5b6112508b828c01611158565b909750955050606089013567ffffffffffffffff81111561126f575f5ffd5b61127b8b828c01611158565b909550935050608089013567ffffffffffffffff81111561129a575f5ffd5b6112a68b828c01611158565b999c989b5096995094979396929594505050565b5f5f5f5f606085870312156112cd575f5ffd5b8435935060208501359250604085013567ffffffffffffffff8111156112f1575f5ffd5b6112fd87828801611158565b95989497509550505050565b5f5f5f5f5f5f5f60e0888a03121561131f575f5ffd5b87359650602088013561133181611115565b9550604088013561134181611115565b969995985095966060810135965060808101359560a0820135955060c0909101359350915050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52603260045260245ffd5b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b8181038181111561079457610794611396565b808202811582820484141761079457610794611396565b5f82611420577f4e487b71000000000000000000000000000000000000000000000000000000005f52601260045260245ffd5b500490565b5f5f5f5f60808587031215611438575f5ffd5b8451602086015160408701516060880151929650909450925061145a81611115565b93969295509093505056",
}

// ReputationTracker is an auto generated Go binding around an Ethereum contract.
type ReputationTracker struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *ReputationTracker) GetABI() abi.ABI {
	return c.abi
}

// NewReputationTracker creates a new instance of ReputationTracker.
func NewReputationTracker() *ReputationTracker {
	parsed, err := ReputationTrackerMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &ReputationTracker{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *ReputationTracker) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(address tracker_, uint256 initialCredit_, address referrer_) returns()
func (reputationTracker *ReputationTracker) PackConstructor(tracker_ common.Address, initialCredit_ *big.Int, referrer_ common.Address) []byte {
	enc, err := reputationTracker.abi.Pack("", tracker_, initialCredit_, referrer_)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackMAXBATCHSIZE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xcfdbf254.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function MAX_BATCH_SIZE() view returns(uint256)
func (reputationTracker *ReputationTracker) PackMAXBATCHSIZE() []byte {
	enc, err := reputationTracker.abi.Pack("MAX_BATCH_SIZE")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMAXBATCHSIZE is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xcfdbf254.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function MAX_BATCH_SIZE() view returns(uint256)
func (reputationTracker *ReputationTracker) TryPackMAXBATCHSIZE() ([]byte, error) {
	return reputationTracker.abi.Pack("MAX_BATCH_SIZE")
}

// UnpackMAXBATCHSIZE is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xcfdbf254.
//
// Solidity: function MAX_BATCH_SIZE() view returns(uint256)
func (reputationTracker *ReputationTracker) UnpackMAXBATCHSIZE(data []byte) (*big.Int, error) {
	out, err := reputationTracker.abi.Unpack("MAX_BATCH_SIZE", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackMAXREFERRERDEPTH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa1d60be0.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function MAX_REFERRER_DEPTH() view returns(uint256)
func (reputationTracker *ReputationTracker) PackMAXREFERRERDEPTH() []byte {
	enc, err := reputationTracker.abi.Pack("MAX_REFERRER_DEPTH")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackMAXREFERRERDEPTH is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa1d60be0.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function MAX_REFERRER_DEPTH() view returns(uint256)
func (reputationTracker *ReputationTracker) TryPackMAXREFERRERDEPTH() ([]byte, error) {
	return reputationTracker.abi.Pack("MAX_REFERRER_DEPTH")
}

// UnpackMAXREFERRERDEPTH is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa1d60be0.
//
// Solidity: function MAX_REFERRER_DEPTH() view returns(uint256)
func (reputationTracker *ReputationTracker) UnpackMAXREFERRERDEPTH(data []byte) (*big.Int, error) {
	out, err := reputationTracker.abi.Unpack("MAX_REFERRER_DEPTH", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackBatchRoot is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x509b368c.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function batchRoot(uint256 batchId) view returns(bytes32 root)
func (reputationTracker *ReputationTracker) PackBatchRoot(batchId *big.Int) []byte {
	enc, err := reputationTracker.abi.Pack("batchRoot", batchId)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackBatchRoot is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x509b368c.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function batchRoot(uint256 batchId) view returns(bytes32 root)
func (reputationTracker *ReputationTracker) TryPackBatchRoot(batchId *big.Int) ([]byte, error) {
	return reputationTracker.abi.Pack("batchRoot", batchId)
}

// UnpackBatchRoot is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x509b368c.
//
// Solidity: function batchRoot(uint256 batchId) view returns(bytes32 root)
func (reputationTracker *ReputationTracker) UnpackBatchRoot(data []byte) ([32]byte, error) {
	out, err := reputationTracker.abi.Unpack("batchRoot", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackCanLeech is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x56c7880b.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function canLeech(address agent, uint256 left) view returns(bool allowed)
func (reputationTracker *ReputationTracker) PackCanLeech(agent common.Address, left *big.Int) []byte {
	enc, err := reputationTracker.abi.Pack("canLeech", agent, left)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackCanLeech is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x56c7880b.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function canLeech(address agent, uint256 left) view returns(bool allowed)
func (reputationTracker *ReputationTracker) TryPackCanLeech(agent common.Address, left *big.Int) ([]byte, error) {
	return reputationTracker.abi.Pack("canLeech", agent, left)
}

// UnpackCanLeech is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x56c7880b.
//
// Solidity: function canLeech(address agent, uint256 left) view returns(bool allowed)
func (reputationTracker *ReputationTracker) UnpackCanLeech(data []byte) (bool, error) {
	out, err := reputationTracker.abi.Unpack("canLeech", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe4fbbf3e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function digest(bytes32 infohash, address sender, address receiver, bytes32 pieceHash, uint256 pieceIndex, uint256 pieceSize, uint256 timestamp) view returns(bytes32 receiptDigest)
func (reputationTracker *ReputationTracker) PackDigest(infohash [32]byte, sender common.Address, receiver common.Address, pieceHash [32]byte, pieceIndex *big.Int, pieceSize *big.Int, timestamp *big.Int) []byte {
	enc, err := reputationTracker.abi.Pack("digest", infohash, sender, receiver, pieceHash, pieceIndex, pieceSize, timestamp)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDigest is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xe4fbbf3e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function digest(bytes32 infohash, address sender, address receiver, bytes32 pieceHash, uint256 pieceIndex, uint256 pieceSize, uint256 timestamp) view returns(bytes32 receiptDigest)
func (reputationTracker *ReputationTracker) TryPackDigest(infohash [32]byte, sender common.Address, receiver common.Address, pieceHash [32]byte, pieceIndex *big.Int, pieceSize *big.Int, timestamp *big.Int) ([]byte, error) {
	return reputationTracker.abi.Pack("digest", infohash, sender, receiver, pieceHash, pieceIndex, pieceSize, timestamp)
}

// UnpackDigest is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xe4fbbf3e.
//
// Solidity: function digest(bytes32 infohash, address sender, address receiver, bytes32 pieceHash, uint256 pieceIndex, uint256 pieceSize, uint256 timestamp) view returns(bytes32 receiptDigest)
func (reputationTracker *ReputationTracker) UnpackDigest(data []byte) ([32]byte, error) {
	out, err := reputationTracker.abi.Unpack("digest", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackFindReputation is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd6699ef4.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function findReputation(address agent, uint256 hops) view returns(uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, address source)
func (reputationTracker *ReputationTracker) PackFindReputation(agent common.Address, hops *big.Int) []byte {
	enc, err := reputationTracker.abi.Pack("findReputation", agent, hops)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackFindReputation is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xd6699ef4.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function findReputation(address agent, uint256 hops) view returns(uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, address source)
func (reputationTracker *ReputationTracker) TryPackFindReputation(agent common.Address, hops *big.Int) ([]byte, error) {
	return reputationTracker.abi.Pack("findReputation", agent, hops)
}

// FindReputationOutput serves as a container for the return parameters of contract
// method FindReputation.
type FindReputationOutput struct {
	UploadBytes   *big.Int
	DownloadBytes *big.Int
	LastUpdated   *big.Int
	Source        common.Address
}

// UnpackFindReputation is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xd6699ef4.
//
// Solidity: function findReputation(address agent, uint256 hops) view returns(uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, address source)
func (reputationTracker *ReputationTracker) UnpackFindReputation(data []byte) (FindReputationOutput, error) {
	out, err := reputationTracker.abi.Unpack("findReputation", data)
	outstruct := new(FindReputationOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.UploadBytes = abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	outstruct.DownloadBytes = abi.ConvertType(out[1], new(big.Int)).(*big.Int)
	outstruct.LastUpdated = abi.ConvertType(out[2], new(big.Int)).(*big.Int)
	outstruct.Source = *abi.ConvertType(out[3], new(common.Address)).(*common.Address)
	return *outstruct, nil
}

// PackGetLocalReputation is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x906d2a35.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function getLocalReputation(address agent) view returns(uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known)
func (reputationTracker *ReputationTracker) PackGetLocalReputation(agent common.Address) []byte {
	enc, err := reputationTracker.abi.Pack("getLocalReputation", agent)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGetLocalReputation is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x906d2a35.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function getLocalReputation(address agent) view returns(uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known)
func (reputationTracker *ReputationTracker) TryPackGetLocalReputation(agent common.Address) ([]byte, error) {
	return reputationTracker.abi.Pack("getLocalReputation", agent)
}

// GetLocalReputationOutput serves as a container for the return parameters of contract
// method GetLocalReputation.
type GetLocalReputationOutput struct {
	UploadBytes   *big.Int
	DownloadBytes *big.Int
	LastUpdated   *big.Int
	Known         bool
}

// UnpackGetLocalReputation is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x906d2a35.
//
// Solidity: function getLocalReputation(address agent) view returns(uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known)
func (reputationTracker *ReputationTracker) UnpackGetLocalReputation(data []byte) (GetLocalReputationOutput, error) {
	out, err := reputationTracker.abi.Unpack("getLocalReputation", data)
	outstruct := new(GetLocalReputationOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.UploadBytes = abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	outstruct.DownloadBytes = abi.ConvertType(out[1], new(big.Int)).(*big.Int)
	outstruct.LastUpdated = abi.ConvertType(out[2], new(big.Int)).(*big.Int)
	outstruct.Known = *abi.ConvertType(out[3], new(bool)).(*bool)
	return *outstruct, nil
}

// PackGetRatio is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x754b2707.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function getRatio(address agent) view returns(uint256 ratioWad)
func (reputationTracker *ReputationTracker) PackGetRatio(agent common.Address) []byte {
	enc, err := reputationTracker.abi.Pack("getRatio", agent)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGetRatio is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x754b2707.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function getRatio(address agent) view returns(uint256 ratioWad)
func (reputationTracker *ReputationTracker) TryPackGetRatio(agent common.Address) ([]byte, error) {
	return reputationTracker.abi.Pack("getRatio", agent)
}

// UnpackGetRatio is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x754b2707.
//
// Solidity: function getRatio(address agent) view returns(uint256 ratioWad)
func (reputationTracker *ReputationTracker) UnpackGetRatio(data []byte) (*big.Int, error) {
	out, err := reputationTracker.abi.Unpack("getRatio", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackGetReputation is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9c89a0e2.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function getReputation(address agent) view returns(uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known)
func (reputationTracker *ReputationTracker) PackGetReputation(agent common.Address) []byte {
	enc, err := reputationTracker.abi.Pack("getReputation", agent)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackGetReputation is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9c89a0e2.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function getReputation(address agent) view returns(uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known)
func (reputationTracker *ReputationTracker) TryPackGetReputation(agent common.Address) ([]byte, error) {
	return reputationTracker.abi.Pack("getReputation", agent)
}

// GetReputationOutput serves as a container for the return parameters of contract
// method GetReputation.
type GetReputationOutput struct {
	UploadBytes   *big.Int
	DownloadBytes *big.Int
	LastUpdated   *big.Int
	Known         bool
}

// UnpackGetReputation is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x9c89a0e2.
//
// Solidity: function getReputation(address agent) view returns(uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known)
func (reputationTracker *ReputationTracker) UnpackGetReputation(data []byte) (GetReputationOutput, error) {
	out, err := reputationTracker.abi.Unpack("getReputation", data)
	outstruct := new(GetReputationOutput)
	if err != nil {
		return *outstruct, err
	}
	outstruct.UploadBytes = abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	outstruct.DownloadBytes = abi.ConvertType(out[1], new(big.Int)).(*big.Int)
	outstruct.LastUpdated = abi.ConvertType(out[2], new(big.Int)).(*big.Int)
	outstruct.Known = *abi.ConvertType(out[3], new(bool)).(*bool)
	return *outstruct, nil
}

// PackInitialCredit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf488d893.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function initialCredit() view returns(uint256)
func (reputationTracker *ReputationTracker) PackInitialCredit() []byte {
	enc, err := reputationTracker.abi.Pack("initialCredit")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackInitialCredit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf488d893.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function initialCredit() view returns(uint256)
func (reputationTracker *ReputationTracker) TryPackInitialCredit() ([]byte, error) {
	return reputationTracker.abi.Pack("initialCredit")
}

// UnpackInitialCredit is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xf488d893.
//
// Solidity: function initialCredit() view returns(uint256)
func (reputationTracker *ReputationTracker) UnpackInitialCredit(data []byte) (*big.Int, error) {
	out, err := reputationTracker.abi.Unpack("initialCredit", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackIsRegistered is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xc3c5a547.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function isRegistered(address agent) view returns(bool registered)
func (reputationTracker *ReputationTracker) PackIsRegistered(agent common.Address) []byte {
	enc, err := reputationTracker.abi.Pack("isRegistered", agent)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackIsRegistered is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xc3c5a547.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function isRegistered(address agent) view returns(bool registered)
func (reputationTracker *ReputationTracker) TryPackIsRegistered(agent common.Address) ([]byte, error) {
	return reputationTracker.abi.Pack("isRegistered", agent)
}

// UnpackIsRegistered is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xc3c5a547.
//
// Solidity: function isRegistered(address agent) view returns(bool registered)
func (reputationTracker *ReputationTracker) UnpackIsRegistered(data []byte) (bool, error) {
	out, err := reputationTracker.abi.Unpack("isRegistered", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackLastBatchId is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5b5eee88.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function lastBatchId() view returns(uint256)
func (reputationTracker *ReputationTracker) PackLastBatchId() []byte {
	enc, err := reputationTracker.abi.Pack("lastBatchId")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackLastBatchId is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x5b5eee88.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function lastBatchId() view returns(uint256)
func (reputationTracker *ReputationTracker) TryPackLastBatchId() ([]byte, error) {
	return reputationTracker.abi.Pack("lastBatchId")
}

// UnpackLastBatchId is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x5b5eee88.
//
// Solidity: function lastBatchId() view returns(uint256)
func (reputationTracker *ReputationTracker) UnpackLastBatchId(data []byte) (*big.Int, error) {
	out, err := reputationTracker.abi.Unpack("lastBatchId", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackReceiptLeaf is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x38386c12.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function receiptLeaf(bytes32 receiptDigest) pure returns(bytes32 leaf)
func (reputationTracker *ReputationTracker) PackReceiptLeaf(receiptDigest [32]byte) []byte {
	enc, err := reputationTracker.abi.Pack("receiptLeaf", receiptDigest)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackReceiptLeaf is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x38386c12.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function receiptLeaf(bytes32 receiptDigest) pure returns(bytes32 leaf)
func (reputationTracker *ReputationTracker) TryPackReceiptLeaf(receiptDigest [32]byte) ([]byte, error) {
	return reputationTracker.abi.Pack("receiptLeaf", receiptDigest)
}

// UnpackReceiptLeaf is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x38386c12.
//
// Solidity: function receiptLeaf(bytes32 receiptDigest) pure returns(bytes32 leaf)
func (reputationTracker *ReputationTracker) UnpackReceiptLeaf(data []byte) ([32]byte, error) {
	out, err := reputationTracker.abi.Unpack("receiptLeaf", data)
	if err != nil {
		return *new([32]byte), err
	}
	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)
	return out0, nil
}

// PackReferrer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x68447c93.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function referrer() view returns(address)
func (reputationTracker *ReputationTracker) PackReferrer() []byte {
	enc, err := reputationTracker.abi.Pack("referrer")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackReferrer is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x68447c93.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function referrer() view returns(address)
func (reputationTracker *ReputationTracker) TryPackReferrer() ([]byte, error) {
	return reputationTracker.abi.Pack("referrer")
}

// UnpackReferrer is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x68447c93.
//
// Solidity: function referrer() view returns(address)
func (reputationTracker *ReputationTracker) UnpackReferrer(data []byte) (common.Address, error) {
	out, err := reputationTracker.abi.Unpack("referrer", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackRegister is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4420e486.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function register(address agent) returns()
func (reputationTracker *ReputationTracker) PackRegister(agent common.Address) []byte {
	enc, err := reputationTracker.abi.Pack("register", agent)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRegister is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x4420e486.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function register(address agent) returns()
func (reputationTracker *ReputationTracker) TryPackRegister(agent common.Address) ([]byte, error) {
	return reputationTracker.abi.Pack("register", agent)
}

// PackRegisterBatch is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x45ebd45a.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function registerBatch(address[] agents) returns(uint256 registered)
func (reputationTracker *ReputationTracker) PackRegisterBatch(agents []common.Address) []byte {
	enc, err := reputationTracker.abi.Pack("registerBatch", agents)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackRegisterBatch is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x45ebd45a.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function registerBatch(address[] agents) returns(uint256 registered)
func (reputationTracker *ReputationTracker) TryPackRegisterBatch(agents []common.Address) ([]byte, error) {
	return reputationTracker.abi.Pack("registerBatch", agents)
}

// UnpackRegisterBatch is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x45ebd45a.
//
// Solidity: function registerBatch(address[] agents) returns(uint256 registered)
func (reputationTracker *ReputationTracker) UnpackRegisterBatch(data []byte) (*big.Int, error) {
	out, err := reputationTracker.abi.Unpack("registerBatch", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackSettle is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9c17d103.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function settle(uint256 batchId, bytes32 receiptsRoot, address[] agents, uint256[] uploadDeltas, uint256[] downloadDeltas) returns()
func (reputationTracker *ReputationTracker) PackSettle(batchId *big.Int, receiptsRoot [32]byte, agents []common.Address, uploadDeltas []*big.Int, downloadDeltas []*big.Int) []byte {
	enc, err := reputationTracker.abi.Pack("settle", batchId, receiptsRoot, agents, uploadDeltas, downloadDeltas)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackSettle is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x9c17d103.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function settle(uint256 batchId, bytes32 receiptsRoot, address[] agents, uint256[] uploadDeltas, uint256[] downloadDeltas) returns()
func (reputationTracker *ReputationTracker) TryPackSettle(batchId *big.Int, receiptsRoot [32]byte, agents []common.Address, uploadDeltas []*big.Int, downloadDeltas []*big.Int) ([]byte, error) {
	return reputationTracker.abi.Pack("settle", batchId, receiptsRoot, agents, uploadDeltas, downloadDeltas)
}

// PackTracker is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf52bccad.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function tracker() view returns(address)
func (reputationTracker *ReputationTracker) PackTracker() []byte {
	enc, err := reputationTracker.abi.Pack("tracker")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTracker is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf52bccad.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function tracker() view returns(address)
func (reputationTracker *ReputationTracker) TryPackTracker() ([]byte, error) {
	return reputationTracker.abi.Pack("tracker")
}

// UnpackTracker is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xf52bccad.
//
// Solidity: function tracker() view returns(address)
func (reputationTracker *ReputationTracker) UnpackTracker(data []byte) (common.Address, error) {
	out, err := reputationTracker.abi.Unpack("tracker", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackVerifyReceipt is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa2d5845e.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function verifyReceipt(uint256 batchId, bytes32 receiptDigest, bytes32[] proof) view returns(bool valid)
func (reputationTracker *ReputationTracker) PackVerifyReceipt(batchId *big.Int, receiptDigest [32]byte, proof [][32]byte) []byte {
	enc, err := reputationTracker.abi.Pack("verifyReceipt", batchId, receiptDigest, proof)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackVerifyReceipt is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xa2d5845e.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function verifyReceipt(uint256 batchId, bytes32 receiptDigest, bytes32[] proof) view returns(bool valid)
func (reputationTracker *ReputationTracker) TryPackVerifyReceipt(batchId *big.Int, receiptDigest [32]byte, proof [][32]byte) ([]byte, error) {
	return reputationTracker.abi.Pack("verifyReceipt", batchId, receiptDigest, proof)
}

// UnpackVerifyReceipt is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xa2d5845e.
//
// Solidity: function verifyReceipt(uint256 batchId, bytes32 receiptDigest, bytes32[] proof) view returns(bool valid)
func (reputationTracker *ReputationTracker) UnpackVerifyReceipt(data []byte) (bool, error) {
	out, err := reputationTracker.abi.Unpack("verifyReceipt", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// ReputationTrackerAgentImported represents a AgentImported event raised by the ReputationTracker contract.
type ReputationTrackerAgentImported struct {
	Agent         common.Address
	Source        common.Address
	UploadBytes   *big.Int
	DownloadBytes *big.Int
	Raw           *types.Log // Blockchain specific contextual infos
}

const ReputationTrackerAgentImportedEventName = "AgentImported"

// ContractEventName returns the user-defined event name.
func (ReputationTrackerAgentImported) ContractEventName() string {
	return ReputationTrackerAgentImportedEventName
}

// UnpackAgentImportedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event AgentImported(address indexed agent, address indexed source, uint256 uploadBytes, uint256 downloadBytes)
func (reputationTracker *ReputationTracker) UnpackAgentImportedEvent(log *types.Log) (*ReputationTrackerAgentImported, error) {
	event := "AgentImported"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != reputationTracker.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(ReputationTrackerAgentImported)
	if len(log.Data) > 0 {
		if err := reputationTracker.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range reputationTracker.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// ReputationTrackerAgentRegistered represents a AgentRegistered event raised by the ReputationTracker contract.
type ReputationTrackerAgentRegistered struct {
	Agent         common.Address
	InitialCredit *big.Int
	Raw           *types.Log // Blockchain specific contextual infos
}

const ReputationTrackerAgentRegisteredEventName = "AgentRegistered"

// ContractEventName returns the user-defined event name.
func (ReputationTrackerAgentRegistered) ContractEventName() string {
	return ReputationTrackerAgentRegisteredEventName
}

// UnpackAgentRegisteredEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event AgentRegistered(address indexed agent, uint256 initialCredit)
func (reputationTracker *ReputationTracker) UnpackAgentRegisteredEvent(log *types.Log) (*ReputationTrackerAgentRegistered, error) {
	event := "AgentRegistered"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != reputationTracker.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(ReputationTrackerAgentRegistered)
	if len(log.Data) > 0 {
		if err := reputationTracker.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range reputationTracker.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// ReputationTrackerBatchSettled represents a BatchSettled event raised by the ReputationTracker contract.
type ReputationTrackerBatchSettled struct {
	BatchId            *big.Int
	ReceiptsRoot       [32]byte
	AgentCount         *big.Int
	TotalUploadDelta   *big.Int
	TotalDownloadDelta *big.Int
	Raw                *types.Log // Blockchain specific contextual infos
}

const ReputationTrackerBatchSettledEventName = "BatchSettled"

// ContractEventName returns the user-defined event name.
func (ReputationTrackerBatchSettled) ContractEventName() string {
	return ReputationTrackerBatchSettledEventName
}

// UnpackBatchSettledEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event BatchSettled(uint256 indexed batchId, bytes32 receiptsRoot, uint256 agentCount, uint256 totalUploadDelta, uint256 totalDownloadDelta)
func (reputationTracker *ReputationTracker) UnpackBatchSettledEvent(log *types.Log) (*ReputationTrackerBatchSettled, error) {
	event := "BatchSettled"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != reputationTracker.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(ReputationTrackerBatchSettled)
	if len(log.Data) > 0 {
		if err := reputationTracker.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range reputationTracker.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// ReputationTrackerReputationUpdated represents a ReputationUpdated event raised by the ReputationTracker contract.
type ReputationTrackerReputationUpdated struct {
	Agent         common.Address
	BatchId       *big.Int
	UploadBytes   *big.Int
	DownloadBytes *big.Int
	Raw           *types.Log // Blockchain specific contextual infos
}

const ReputationTrackerReputationUpdatedEventName = "ReputationUpdated"

// ContractEventName returns the user-defined event name.
func (ReputationTrackerReputationUpdated) ContractEventName() string {
	return ReputationTrackerReputationUpdatedEventName
}

// UnpackReputationUpdatedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event ReputationUpdated(address indexed agent, uint256 indexed batchId, uint256 uploadBytes, uint256 downloadBytes)
func (reputationTracker *ReputationTracker) UnpackReputationUpdatedEvent(log *types.Log) (*ReputationTrackerReputationUpdated, error) {
	event := "ReputationUpdated"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != reputationTracker.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(ReputationTrackerReputationUpdated)
	if len(log.Data) > 0 {
		if err := reputationTracker.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range reputationTracker.abi.Events[event].Inputs {
		if arg.Indexed {
			indexed = append(indexed, arg)
		}
	}
	if err := abi.ParseTopics(out, indexed, log.Topics[1:]); err != nil {
		return nil, err
	}
	out.Raw = log
	return out, nil
}

// UnpackError attempts to decode the provided error data using user-defined
// error definitions.
func (reputationTracker *ReputationTracker) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["AlreadyRegistered"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackAlreadyRegisteredError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["BadBatchId"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackBadBatchIdError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["BatchTooLarge"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackBatchTooLargeError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["EmptyBatch"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackEmptyBatchError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["InitialCreditTooLarge"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackInitialCreditTooLargeError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["LengthMismatch"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackLengthMismatchError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["NotTracker"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackNotTrackerError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["ReferrerNotContract"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackReferrerNotContractError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["ReputationOverflow"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackReputationOverflowError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["UnknownAgent"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackUnknownAgentError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["ZeroAddress"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackZeroAddressError(raw[4:])
	}
	if bytes.Equal(raw[:4], reputationTracker.abi.Errors["ZeroReceiptsRoot"].ID.Bytes()[:4]) {
		return reputationTracker.UnpackZeroReceiptsRootError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// ReputationTrackerAlreadyRegistered represents a AlreadyRegistered error raised by the ReputationTracker contract.
type ReputationTrackerAlreadyRegistered struct {
	Agent common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error AlreadyRegistered(address agent)
func ReputationTrackerAlreadyRegisteredErrorID() common.Hash {
	return common.HexToHash("0x45ed80e9399c87887ea54f615514a1e3dde31e9b6c027ddceb4ffd503b70e428")
}

// UnpackAlreadyRegisteredError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error AlreadyRegistered(address agent)
func (reputationTracker *ReputationTracker) UnpackAlreadyRegisteredError(raw []byte) (*ReputationTrackerAlreadyRegistered, error) {
	out := new(ReputationTrackerAlreadyRegistered)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "AlreadyRegistered", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerBadBatchId represents a BadBatchId error raised by the ReputationTracker contract.
type ReputationTrackerBadBatchId struct {
	Expected *big.Int
	Got      *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BadBatchId(uint256 expected, uint256 got)
func ReputationTrackerBadBatchIdErrorID() common.Hash {
	return common.HexToHash("0xd870007a9242c0c12984cb083b2cca2ab6bb15dfc811c6c4fd5c0cbe760ec7ba")
}

// UnpackBadBatchIdError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BadBatchId(uint256 expected, uint256 got)
func (reputationTracker *ReputationTracker) UnpackBadBatchIdError(raw []byte) (*ReputationTrackerBadBatchId, error) {
	out := new(ReputationTrackerBadBatchId)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "BadBatchId", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerBatchTooLarge represents a BatchTooLarge error raised by the ReputationTracker contract.
type ReputationTrackerBatchTooLarge struct {
	Size *big.Int
	Max  *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error BatchTooLarge(uint256 size, uint256 max)
func ReputationTrackerBatchTooLargeErrorID() common.Hash {
	return common.HexToHash("0xbb1cb70bcc2ddbaabd8d251943ebb6b48ae10b9f78ce35a6f00b43eac7ae64f1")
}

// UnpackBatchTooLargeError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error BatchTooLarge(uint256 size, uint256 max)
func (reputationTracker *ReputationTracker) UnpackBatchTooLargeError(raw []byte) (*ReputationTrackerBatchTooLarge, error) {
	out := new(ReputationTrackerBatchTooLarge)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "BatchTooLarge", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerEmptyBatch represents a EmptyBatch error raised by the ReputationTracker contract.
type ReputationTrackerEmptyBatch struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error EmptyBatch()
func ReputationTrackerEmptyBatchErrorID() common.Hash {
	return common.HexToHash("0xc2e5347df6cf8d1bf68f8a9651642312bd381b900d857d97cd665976180d6ae0")
}

// UnpackEmptyBatchError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error EmptyBatch()
func (reputationTracker *ReputationTracker) UnpackEmptyBatchError(raw []byte) (*ReputationTrackerEmptyBatch, error) {
	out := new(ReputationTrackerEmptyBatch)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "EmptyBatch", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerInitialCreditTooLarge represents a InitialCreditTooLarge error raised by the ReputationTracker contract.
type ReputationTrackerInitialCreditTooLarge struct {
	InitialCredit *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InitialCreditTooLarge(uint256 initialCredit)
func ReputationTrackerInitialCreditTooLargeErrorID() common.Hash {
	return common.HexToHash("0x281042e68005e36dc5ff0ea4a3dfc7b5ca3253d0c571b9d773f90c61310b4b3a")
}

// UnpackInitialCreditTooLargeError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InitialCreditTooLarge(uint256 initialCredit)
func (reputationTracker *ReputationTracker) UnpackInitialCreditTooLargeError(raw []byte) (*ReputationTrackerInitialCreditTooLarge, error) {
	out := new(ReputationTrackerInitialCreditTooLarge)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "InitialCreditTooLarge", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerLengthMismatch represents a LengthMismatch error raised by the ReputationTracker contract.
type ReputationTrackerLengthMismatch struct {
	Agents         *big.Int
	UploadDeltas   *big.Int
	DownloadDeltas *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error LengthMismatch(uint256 agents, uint256 uploadDeltas, uint256 downloadDeltas)
func ReputationTrackerLengthMismatchErrorID() common.Hash {
	return common.HexToHash("0x8ee979f5a38369de55d403e905578ce8be28a150144e1bb7c08798d7c078539f")
}

// UnpackLengthMismatchError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error LengthMismatch(uint256 agents, uint256 uploadDeltas, uint256 downloadDeltas)
func (reputationTracker *ReputationTracker) UnpackLengthMismatchError(raw []byte) (*ReputationTrackerLengthMismatch, error) {
	out := new(ReputationTrackerLengthMismatch)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "LengthMismatch", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerNotTracker represents a NotTracker error raised by the ReputationTracker contract.
type ReputationTrackerNotTracker struct {
	Caller common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error NotTracker(address caller)
func ReputationTrackerNotTrackerErrorID() common.Hash {
	return common.HexToHash("0x70ba674d9488e63867314c1e10901ba3c92246ae1ee9182733d6fdbb7d49d29c")
}

// UnpackNotTrackerError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error NotTracker(address caller)
func (reputationTracker *ReputationTracker) UnpackNotTrackerError(raw []byte) (*ReputationTrackerNotTracker, error) {
	out := new(ReputationTrackerNotTracker)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "NotTracker", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerReferrerNotContract represents a ReferrerNotContract error raised by the ReputationTracker contract.
type ReputationTrackerReferrerNotContract struct {
	Referrer common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ReferrerNotContract(address referrer)
func ReputationTrackerReferrerNotContractErrorID() common.Hash {
	return common.HexToHash("0x58c3ab067ae2f8a167501122a5f4f4a0ef0ec9b127e2def66fba8eab2a4c272a")
}

// UnpackReferrerNotContractError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ReferrerNotContract(address referrer)
func (reputationTracker *ReputationTracker) UnpackReferrerNotContractError(raw []byte) (*ReputationTrackerReferrerNotContract, error) {
	out := new(ReputationTrackerReferrerNotContract)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "ReferrerNotContract", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerReputationOverflow represents a ReputationOverflow error raised by the ReputationTracker contract.
type ReputationTrackerReputationOverflow struct {
	Agent common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ReputationOverflow(address agent)
func ReputationTrackerReputationOverflowErrorID() common.Hash {
	return common.HexToHash("0x2ce69eb2b74428c1667204d38165aefdf0b372fb0cb25fdd9b7fcb2db7cf68f1")
}

// UnpackReputationOverflowError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ReputationOverflow(address agent)
func (reputationTracker *ReputationTracker) UnpackReputationOverflowError(raw []byte) (*ReputationTrackerReputationOverflow, error) {
	out := new(ReputationTrackerReputationOverflow)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "ReputationOverflow", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerUnknownAgent represents a UnknownAgent error raised by the ReputationTracker contract.
type ReputationTrackerUnknownAgent struct {
	Agent common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error UnknownAgent(address agent)
func ReputationTrackerUnknownAgentErrorID() common.Hash {
	return common.HexToHash("0x8d3e45f6f52814cb50e3c9a2405745690f277b97d3eac449cd7f963617649a46")
}

// UnpackUnknownAgentError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error UnknownAgent(address agent)
func (reputationTracker *ReputationTracker) UnpackUnknownAgentError(raw []byte) (*ReputationTrackerUnknownAgent, error) {
	out := new(ReputationTrackerUnknownAgent)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "UnknownAgent", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerZeroAddress represents a ZeroAddress error raised by the ReputationTracker contract.
type ReputationTrackerZeroAddress struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroAddress()
func ReputationTrackerZeroAddressErrorID() common.Hash {
	return common.HexToHash("0xd92e233df2717d4a40030e20904abd27b68fcbeede117eaaccbbdac9618c8c73")
}

// UnpackZeroAddressError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroAddress()
func (reputationTracker *ReputationTracker) UnpackZeroAddressError(raw []byte) (*ReputationTrackerZeroAddress, error) {
	out := new(ReputationTrackerZeroAddress)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "ZeroAddress", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// ReputationTrackerZeroReceiptsRoot represents a ZeroReceiptsRoot error raised by the ReputationTracker contract.
type ReputationTrackerZeroReceiptsRoot struct {
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ZeroReceiptsRoot()
func ReputationTrackerZeroReceiptsRootErrorID() common.Hash {
	return common.HexToHash("0xe8878c84745e931f02df706f443f0c46bf9b02cde963d9e481c12c1646a5d8a7")
}

// UnpackZeroReceiptsRootError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ZeroReceiptsRoot()
func (reputationTracker *ReputationTracker) UnpackZeroReceiptsRootError(raw []byte) (*ReputationTrackerZeroReceiptsRoot, error) {
	out := new(ReputationTrackerZeroReceiptsRoot)
	if err := reputationTracker.abi.UnpackIntoInterface(out, "ZeroReceiptsRoot", raw); err != nil {
		return nil, err
	}
	return out, nil
}
