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

// RepFactoryMetaData contains all meta data concerning the RepFactory contract.
var RepFactoryMetaData = bind.MetaData{
	ABI: "[{\"type\":\"constructor\",\"inputs\":[{\"name\":\"defaultInitialCredit_\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"defaultInitialCredit\",\"inputs\":[],\"outputs\":[{\"name\":\"\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"deployNewTracker\",\"inputs\":[{\"name\":\"referrer\",\"type\":\"address\",\"internalType\":\"address\"}],\"outputs\":[{\"name\":\"trackerContract\",\"type\":\"address\",\"internalType\":\"address\"}],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"deployNewTrackerWithCredit\",\"inputs\":[{\"name\":\"referrer\",\"type\":\"address\",\"internalType\":\"address\"},{\"name\":\"initialCredit\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"trackerContract\",\"type\":\"address\",\"internalType\":\"address\"}],\"stateMutability\":\"nonpayable\"},{\"type\":\"function\",\"name\":\"isFactoryTracker\",\"inputs\":[{\"name\":\"trackerContract\",\"type\":\"address\",\"internalType\":\"address\"}],\"outputs\":[{\"name\":\"deployed\",\"type\":\"bool\",\"internalType\":\"bool\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"trackerCount\",\"inputs\":[],\"outputs\":[{\"name\":\"count\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"stateMutability\":\"view\"},{\"type\":\"function\",\"name\":\"trackers\",\"inputs\":[{\"name\":\"\",\"type\":\"uint256\",\"internalType\":\"uint256\"}],\"outputs\":[{\"name\":\"\",\"type\":\"address\",\"internalType\":\"address\"}],\"stateMutability\":\"view\"},{\"type\":\"event\",\"name\":\"TrackerDeployed\",\"inputs\":[{\"name\":\"trackerContract\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"authority\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"referrer\",\"type\":\"address\",\"indexed\":true,\"internalType\":\"address\"},{\"name\":\"initialCredit\",\"type\":\"uint256\",\"indexed\":false,\"internalType\":\"uint256\"}],\"anonymous\":false},{\"type\":\"error\",\"name\":\"InitialCreditTooLarge\",\"inputs\":[{\"name\":\"initialCredit\",\"type\":\"uint256\",\"internalType\":\"uint256\"}]},{\"type\":\"error\",\"name\":\"ReferrerNotContract\",\"inputs\":[{\"name\":\"referrer\",\"type\":\"address\",\"internalType\":\"address\"}]}]",
	ID:  "RepFactory",
	Bin: "0x60a0604052348015600e575f5ffd5b50604051611be9380380611be9833981016040819052602b916060565b6001600160701b03811115605957604051631408217360e11b81526004810182905260240160405180910390fd5b6080526076565b5f60208284031215606f575f5ffd5b5051919050565b608051611b556100945f395f818160f701526102160152611b555ff3fe608060405234801561000f575f5ffd5b506004361061006e575f3560e01c806394167e111161004d57806394167e11146100f257806396b9df6914610119578063f09794a61461012c575f5ffd5b8062cfa6901461007257806316d6bca41461008857806360316976146100c0575b5f5ffd5b5f545b6040519081526020015b60405180910390f35b61009b6100963660046104c5565b61013f565b60405173ffffffffffffffffffffffffffffffffffffffff909116815260200161007f565b6100e26100ce366004610504565b60016020525f908152604090205460ff1681565b604051901515815260200161007f565b6100757f000000000000000000000000000000000000000000000000000000000000000081565b61009b61012736600461051d565b610173565b61009b61013a366004610504565b610213565b5f818154811061014d575f80fd5b5f9182526020909120015473ffffffffffffffffffffffffffffffffffffffff16905081565b5f73ffffffffffffffffffffffffffffffffffffffff8316158015906101ae575073ffffffffffffffffffffffffffffffffffffffff83163b155b15610202576040517f58c3ab0600000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff841660048201526024015b60405180910390fd5b61020c838361032f565b9392505050565b5f7f000000000000000000000000000000000000000000000000000000000000000073ffffffffffffffffffffffffffffffffffffffff831615610329578273ffffffffffffffffffffffffffffffffffffffff163b5f036102b9576040517f58c3ab0600000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff841660048201526024016101f9565b8273ffffffffffffffffffffffffffffffffffffffff1663f488d8936040518163ffffffff1660e01b8152600401602060405180830381865afa158015610302573d5f5f3e3d5ffd5b505050506040513d601f19601f820116820180604052508101906103269190610545565b90505b61020c83825b5f6dffffffffffffffffffffffffffff82111561037b576040517f281042e6000000000000000000000000000000000000000000000000000000008152600481018390526024016101f9565b33828460405161038a906104b8565b73ffffffffffffffffffffffffffffffffffffffff938416815260208101929092529091166040820152606001604051809103905ff0801580156103d0573d5f5f3e3d5ffd5b505f8054600180820183557f290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e56390910180547fffffffffffffffffffffffff00000000000000000000000000000000000000001673ffffffffffffffffffffffffffffffffffffffff858116918217909255808452602083815260409485902080547fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff001690941790935592518681529394508616923392917f7203c7c9c14e2cf53eb6741b7da28fe448498338f070507ba9bd7bb26aa4604d910160405180910390a492915050565b6115f88061055d83390190565b5f602082840312156104d5575f5ffd5b5035919050565b803573ffffffffffffffffffffffffffffffffffffffff811681146104ff575f5ffd5b919050565b5f60208284031215610514575f5ffd5b61020c826104dc565b5f5f6040838503121561052e575f5ffd5b610537836104dc565b946020939093013593505050565b5f60208284031215610555575f5ffd5b505191905056fe60e060405234801561000f575f5ffd5b506040516115f83803806115f883398101604081905261002e91610106565b6001600160a01b0383166100555760405163d92e233d60e01b815260040160405180910390fd5b6001600160701b0382111561008557604051631408217360e11b8152600481018390526024015b60405180910390fd5b6001600160a01b038116158015906100a557506001600160a01b0381163b155b156100ce57604051632c61d58360e11b81526001600160a01b038216600482015260240161007c565b6001600160a01b0392831660805260a0919091521660c05261013f565b80516001600160a01b0381168114610101575f5ffd5b919050565b5f5f5f60608486031215610118575f5ffd5b610121846100eb565b925060208401519150610136604085016100eb565b90509250925092565b60805160a05160c0516114656101935f395f81816101f501528181610e4a0152610eb701525f81816103fe0152610cb201525f81816104250152818161045f015281816105a3015261082c01526114655ff3fe608060405234801561000f575f5ffd5b5060043610610149575f3560e01c80639c17d103116100c7578063cfdbf2541161007d578063e4fbbf3e11610063578063e4fbbf3e1461036f578063f488d893146103f9578063f52bccad14610420575f5ffd5b8063cfdbf2541461031d578063d6699ef414610326575f5ffd5b8063a1d60be0116100ad578063a1d60be0146102ef578063a2d5845e146102f7578063c3c5a5471461030a575f5ffd5b80639c17d103146102c95780639c89a0e2146102dc575f5ffd5b806356c7880b1161011c57806368447c931161010257806368447c93146101f0578063754b27071461023c578063906d2a351461024f575f5ffd5b806356c7880b146101c55780635b5eee88146101e8575f5ffd5b806338386c121461014d5780634420e4861461017e57806345ebd45a14610193578063509b368c146101a6575b5f5ffd5b61016b61015b3660046110fe565b5f90815260208082208252902090565b6040519081526020015b60405180910390f35b61019161018c366004611136565b610447565b005b61016b6101a13660046111a0565b61058a565b61016b6101b43660046110fe565b60016020525f908152604090205481565b6101d86101d33660046111df565b61074b565b6040519015158152602001610175565b61016b5f5481565b6102177f000000000000000000000000000000000000000000000000000000000000000081565b60405173ffffffffffffffffffffffffffffffffffffffff9091168152602001610175565b61016b61024a366004611136565b61079a565b6102a761025d366004611136565b73ffffffffffffffffffffffffffffffffffffffff165f908152600260205260409020546dffffffffffffffffffffffffffff80821692607083901c9091169160e01c9081151590565b6040805194855260208501939093529183015215156060820152608001610175565b6101916102d7366004611209565b610814565b6102a76102ea366004611136565b610b56565b61016b600881565b6101d86103053660046112ba565b610b8f565b6101d8610318366004611136565b610bfb565b61016b61010081565b6103396103343660046111df565b610c05565b6040805194855260208501939093529183015273ffffffffffffffffffffffffffffffffffffffff166060820152608001610175565b61016b61037d366004611309565b60408051466020808301919091523082840152606082019990995273ffffffffffffffffffffffffffffffffffffffff97881660808201529590961660a086015260c085019390935260e08401919091526101008301526101208083019190915282518083039091018152610140909101909152805191012090565b61016b7f000000000000000000000000000000000000000000000000000000000000000081565b6102177f000000000000000000000000000000000000000000000000000000000000000081565b3373ffffffffffffffffffffffffffffffffffffffff7f000000000000000000000000000000000000000000000000000000000000000016146104bd576040517f70ba674d0000000000000000000000000000000000000000000000000000000081523360048201526024015b60405180910390fd5b73ffffffffffffffffffffffffffffffffffffffff811661050a576040517fd92e233d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b73ffffffffffffffffffffffffffffffffffffffff81165f908152600260205260409020541561057e576040517f45ed80e900000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff821660048201526024016104b4565b61058781610c25565b50565b5f3373ffffffffffffffffffffffffffffffffffffffff7f000000000000000000000000000000000000000000000000000000000000000016146105fc576040517f70ba674d0000000000000000000000000000000000000000000000000000000081523360048201526024016104b4565b815f819003610637576040517fc2e5347d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b61010081111561067e576040517fbb1cb70b0000000000000000000000000000000000000000000000000000000081526004810182905261010060248201526044016104b4565b5f5b81811015610743575f85858381811061069b5761069b611369565b90506020020160208101906106b09190611136565b905073ffffffffffffffffffffffffffffffffffffffff81166106ff576040517fd92e233d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b73ffffffffffffffffffffffffffffffffffffffff81165f90815260026020526040812054900361073a5761073381610c25565b8360010193505b50600101610680565b505092915050565b5f5f5f5f61075886610b56565b935050925092508061076f575f9350505050610794565b600183901b82811080159061078d57508561078a84836113c3565b10155b9450505050505b92915050565b5f5f5f5f6107a785610b56565b93505092509250806107bd57505f949350505050565b815f036107ee57507fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff949350505050565b8161080184670de0b6b3a76400006113d6565b61080b91906113ed565b95945050505050565b3373ffffffffffffffffffffffffffffffffffffffff7f00000000000000000000000000000000000000000000000000000000000000001614610885576040517f70ba674d0000000000000000000000000000000000000000000000000000000081523360048201526024016104b4565b5f546001018881146108cd576040517fd870007a00000000000000000000000000000000000000000000000000000000815260048101829052602481018a90526044016104b4565b508483811415806108de5750808214155b15610926576040517f8ee979f50000000000000000000000000000000000000000000000000000000081526004810182905260248101859052604481018390526064016104b4565b805f0361095f576040517fc2e5347d00000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b6101008111156109a6576040517fbb1cb70b0000000000000000000000000000000000000000000000000000000081526004810182905261010060248201526044016104b4565b876109dd576040517fe8878c8400000000000000000000000000000000000000000000000000000000815260040160405180910390fd5b5f60e06109e8610d19565b901b90505f5f5f5b84811015610ae957604435600582901b01602401355f8060a083901c15610a15575f5ffd5b825f52600260205260405f20915081549050805f03610a3a57610a3783610d2f565b90505b6dffffffffffffffffffffffffffff8460051b8060643560240101358160843560240101359150828416838560701c16808503841182860384111715610a8b57632ce69eb25f52876020526024601cfd5b8301607081901b9183019182178c1787555f9182526020526004359087907fc2fd17ad7e9f23b8607f0bd02d7a6cdcccd5a964fa99ce5a066ed34c5b4bb55b90604090a3979097019695909501945050600190920191506109f09050565b505f8c81558c8152600160209081526040918290208d905581518d8152908101869052908101839052606081018290528c907f7ce8d0718114d0801001928a98747e0236a5fa0ed8cbb0e640a5a52914d33a3d9060800160405180910390a2505050505050505050505050565b5f5f5f5f5f610b66866008610dee565b9299919850965073ffffffffffffffffffffffffffffffffffffffff9091161515945092505050565b5f8481526001602052604081205480610bab575f915050610bf3565b5f858152602080822082528120905b84811015610bee57610be482878784818110610bd857610bd8611369565b90506020020135610f89565b9150600101610bba565b501490505b949350505050565b5f61080b82610b56565b5f5f5f5f610c138686610dee565b93509350935093505b92959194509250565b5f5f5f610c33846008610dee565b935050925092505f73ffffffffffffffffffffffffffffffffffffffff168173ffffffffffffffffffffffffffffffffffffffff1614610c8057610c7984848484610fb5565b5050505050565b60e0610c8a610d19565b73ffffffffffffffffffffffffffffffffffffffff86165f81815260026020526040908190207f00000000000000000000000000000000000000000000000000000000000000009390941b831790935591517fd1b844701695237443dd884ed7193d9c8788f3befd35adc0910472eb166f330691610d0b9190815260200190565b60405180910390a250505050565b63ffffffff42165f819003610d2c575060015b90565b5f73ffffffffffffffffffffffffffffffffffffffff821615610da4575f5f5f610d5a856008610dee565b935050925092505f73ffffffffffffffffffffffffffffffffffffffff168173ffffffffffffffffffffffffffffffffffffffff1614610da05761080b85848484610fb5565b5050505b6040517f8d3e45f600000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff831660048201526024016104b4565b73ffffffffffffffffffffffffffffffffffffffff82165f908152600260205260408120548190819081908015610e48576dffffffffffffffffffffffffffff8181169550607082901c16935060e01c9150309050610c1c565b7f000000000000000000000000000000000000000000000000000000000000000073ffffffffffffffffffffffffffffffffffffffff161580610e89575085155b15610ea0575f5f5f5f945094509450945050610c1c565b73ffffffffffffffffffffffffffffffffffffffff7f00000000000000000000000000000000000000000000000000000000000000001663d6699ef488610ee860018a6113c3565b6040517fffffffff0000000000000000000000000000000000000000000000000000000060e085901b16815273ffffffffffffffffffffffffffffffffffffffff90921660048301526024820152604401608060405180830381865afa158015610f54573d5f5f3e3d5ffd5b505050506040513d601f19601f82011682018060405250810190610f789190611425565b929a91995097509095509350505050565b5f81831060018114610fa157825f5283602052610fa9565b835f52826020525b505060405f2092915050565b5f6dffffffffffffffffffffffffffff841180610fdf57506dffffffffffffffffffffffffffff83115b1561102e576040517f2ce69eb200000000000000000000000000000000000000000000000000000000815273ffffffffffffffffffffffffffffffffffffffff861660048201526024016104b4565b60e0611038610d19565b901b607084901b85171790508060025f8773ffffffffffffffffffffffffffffffffffffffff1673ffffffffffffffffffffffffffffffffffffffff1681526020019081526020015f20819055508173ffffffffffffffffffffffffffffffffffffffff168573ffffffffffffffffffffffffffffffffffffffff167fa4eefb1f2789a7d51a71740c2d992b50524dce7bd27889da1d02a84b26b5f44886866040516110ee929190918252602082015260400190565b60405180910390a3949350505050565b5f6020828403121561110e575f5ffd5b5035919050565b73ffffffffffffffffffffffffffffffffffffffff81168114610587575f5ffd5b5f60208284031215611146575f5ffd5b813561115181611115565b9392505050565b5f5f83601f840112611168575f5ffd5b50813567ffffffffffffffff81111561117f575f5ffd5b6020830191508360208260051b8501011115611199575f5ffd5b9250929050565b5f5f602083850312156111b1575f5ffd5b823567ffffffffffffffff8111156111c7575f5ffd5b6111d385828601611158565b90969095509350505050565b5f5f604083850312156111f0575f5ffd5b82356111fb81611115565b946020939093013593505050565b5f5f5f5f5f5f5f5f60a0898b031215611220575f5ffd5b8835975060208901359650604089013567ffffffffffffffff811115611244575f5ffd5b6112508b828c01611158565b909750955050606089013567ffffffffffffffff81111561126f575f5ffd5b61127b8b828c01611158565b909550935050608089013567ffffffffffffffff81111561129a575f5ffd5b6112a68b828c01611158565b999c989b5096995094979396929594505050565b5f5f5f5f606085870312156112cd575f5ffd5b8435935060208501359250604085013567ffffffffffffffff8111156112f1575f5ffd5b6112fd87828801611158565b95989497509550505050565b5f5f5f5f5f5f5f60e0888a03121561131f575f5ffd5b87359650602088013561133181611115565b9550604088013561134181611115565b969995985095966060810135965060808101359560a0820135955060c0909101359350915050565b7f4e487b71000000000000000000000000000000000000000000000000000000005f52603260045260245ffd5b7f4e487b71000000000000000000000000000000000000000000000000000000005f52601160045260245ffd5b8181038181111561079457610794611396565b808202811582820484141761079457610794611396565b5f82611420577f4e487b71000000000000000000000000000000000000000000000000000000005f52601260045260245ffd5b500490565b5f5f5f5f60808587031215611438575f5ffd5b8451602086015160408701516060880151929650909450925061145a81611115565b93969295509093505056",
}

// RepFactory is an auto generated Go binding around an Ethereum contract.
type RepFactory struct {
	abi abi.ABI
}

// GetABI returns the ABI associated with this contract binding.
func (c *RepFactory) GetABI() abi.ABI {
	return c.abi
}

// NewRepFactory creates a new instance of RepFactory.
func NewRepFactory() *RepFactory {
	parsed, err := RepFactoryMetaData.ParseABI()
	if err != nil {
		panic(errors.New("invalid ABI: " + err.Error()))
	}
	return &RepFactory{abi: *parsed}
}

// Instance creates a wrapper for a deployed contract instance at the given address.
// Use this to create the instance object passed to abigen v2 library functions Call, Transact, etc.
func (c *RepFactory) Instance(backend bind.ContractBackend, addr common.Address) *bind.BoundContract {
	return bind.NewBoundContract(addr, c.abi, backend, backend, backend)
}

// PackConstructor is the Go binding used to pack the parameters required for
// contract deployment.
//
// Solidity: constructor(uint256 defaultInitialCredit_) returns()
func (repFactory *RepFactory) PackConstructor(defaultInitialCredit_ *big.Int) []byte {
	enc, err := repFactory.abi.Pack("", defaultInitialCredit_)
	if err != nil {
		panic(err)
	}
	return enc
}

// PackDefaultInitialCredit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x94167e11.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function defaultInitialCredit() view returns(uint256)
func (repFactory *RepFactory) PackDefaultInitialCredit() []byte {
	enc, err := repFactory.abi.Pack("defaultInitialCredit")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDefaultInitialCredit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x94167e11.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function defaultInitialCredit() view returns(uint256)
func (repFactory *RepFactory) TryPackDefaultInitialCredit() ([]byte, error) {
	return repFactory.abi.Pack("defaultInitialCredit")
}

// UnpackDefaultInitialCredit is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x94167e11.
//
// Solidity: function defaultInitialCredit() view returns(uint256)
func (repFactory *RepFactory) UnpackDefaultInitialCredit(data []byte) (*big.Int, error) {
	out, err := repFactory.abi.Unpack("defaultInitialCredit", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackDeployNewTracker is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf09794a6.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function deployNewTracker(address referrer) returns(address trackerContract)
func (repFactory *RepFactory) PackDeployNewTracker(referrer common.Address) []byte {
	enc, err := repFactory.abi.Pack("deployNewTracker", referrer)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDeployNewTracker is the Go binding used to pack the parameters required for calling
// the contract method with ID 0xf09794a6.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function deployNewTracker(address referrer) returns(address trackerContract)
func (repFactory *RepFactory) TryPackDeployNewTracker(referrer common.Address) ([]byte, error) {
	return repFactory.abi.Pack("deployNewTracker", referrer)
}

// UnpackDeployNewTracker is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0xf09794a6.
//
// Solidity: function deployNewTracker(address referrer) returns(address trackerContract)
func (repFactory *RepFactory) UnpackDeployNewTracker(data []byte) (common.Address, error) {
	out, err := repFactory.abi.Unpack("deployNewTracker", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackDeployNewTrackerWithCredit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x96b9df69.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function deployNewTrackerWithCredit(address referrer, uint256 initialCredit) returns(address trackerContract)
func (repFactory *RepFactory) PackDeployNewTrackerWithCredit(referrer common.Address, initialCredit *big.Int) []byte {
	enc, err := repFactory.abi.Pack("deployNewTrackerWithCredit", referrer, initialCredit)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackDeployNewTrackerWithCredit is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x96b9df69.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function deployNewTrackerWithCredit(address referrer, uint256 initialCredit) returns(address trackerContract)
func (repFactory *RepFactory) TryPackDeployNewTrackerWithCredit(referrer common.Address, initialCredit *big.Int) ([]byte, error) {
	return repFactory.abi.Pack("deployNewTrackerWithCredit", referrer, initialCredit)
}

// UnpackDeployNewTrackerWithCredit is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x96b9df69.
//
// Solidity: function deployNewTrackerWithCredit(address referrer, uint256 initialCredit) returns(address trackerContract)
func (repFactory *RepFactory) UnpackDeployNewTrackerWithCredit(data []byte) (common.Address, error) {
	out, err := repFactory.abi.Unpack("deployNewTrackerWithCredit", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// PackIsFactoryTracker is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x60316976.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function isFactoryTracker(address trackerContract) view returns(bool deployed)
func (repFactory *RepFactory) PackIsFactoryTracker(trackerContract common.Address) []byte {
	enc, err := repFactory.abi.Pack("isFactoryTracker", trackerContract)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackIsFactoryTracker is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x60316976.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function isFactoryTracker(address trackerContract) view returns(bool deployed)
func (repFactory *RepFactory) TryPackIsFactoryTracker(trackerContract common.Address) ([]byte, error) {
	return repFactory.abi.Pack("isFactoryTracker", trackerContract)
}

// UnpackIsFactoryTracker is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x60316976.
//
// Solidity: function isFactoryTracker(address trackerContract) view returns(bool deployed)
func (repFactory *RepFactory) UnpackIsFactoryTracker(data []byte) (bool, error) {
	out, err := repFactory.abi.Unpack("isFactoryTracker", data)
	if err != nil {
		return *new(bool), err
	}
	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)
	return out0, nil
}

// PackTrackerCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x00cfa690.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function trackerCount() view returns(uint256 count)
func (repFactory *RepFactory) PackTrackerCount() []byte {
	enc, err := repFactory.abi.Pack("trackerCount")
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTrackerCount is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x00cfa690.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function trackerCount() view returns(uint256 count)
func (repFactory *RepFactory) TryPackTrackerCount() ([]byte, error) {
	return repFactory.abi.Pack("trackerCount")
}

// UnpackTrackerCount is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x00cfa690.
//
// Solidity: function trackerCount() view returns(uint256 count)
func (repFactory *RepFactory) UnpackTrackerCount(data []byte) (*big.Int, error) {
	out, err := repFactory.abi.Unpack("trackerCount", data)
	if err != nil {
		return new(big.Int), err
	}
	out0 := abi.ConvertType(out[0], new(big.Int)).(*big.Int)
	return out0, nil
}

// PackTrackers is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x16d6bca4.  This method will panic if any
// invalid/nil inputs are passed.
//
// Solidity: function trackers(uint256 ) view returns(address)
func (repFactory *RepFactory) PackTrackers(arg0 *big.Int) []byte {
	enc, err := repFactory.abi.Pack("trackers", arg0)
	if err != nil {
		panic(err)
	}
	return enc
}

// TryPackTrackers is the Go binding used to pack the parameters required for calling
// the contract method with ID 0x16d6bca4.  This method will return an error
// if any inputs are invalid/nil.
//
// Solidity: function trackers(uint256 ) view returns(address)
func (repFactory *RepFactory) TryPackTrackers(arg0 *big.Int) ([]byte, error) {
	return repFactory.abi.Pack("trackers", arg0)
}

// UnpackTrackers is the Go binding that unpacks the parameters returned
// from invoking the contract method with ID 0x16d6bca4.
//
// Solidity: function trackers(uint256 ) view returns(address)
func (repFactory *RepFactory) UnpackTrackers(data []byte) (common.Address, error) {
	out, err := repFactory.abi.Unpack("trackers", data)
	if err != nil {
		return *new(common.Address), err
	}
	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)
	return out0, nil
}

// RepFactoryTrackerDeployed represents a TrackerDeployed event raised by the RepFactory contract.
type RepFactoryTrackerDeployed struct {
	TrackerContract common.Address
	Authority       common.Address
	Referrer        common.Address
	InitialCredit   *big.Int
	Raw             *types.Log // Blockchain specific contextual infos
}

const RepFactoryTrackerDeployedEventName = "TrackerDeployed"

// ContractEventName returns the user-defined event name.
func (RepFactoryTrackerDeployed) ContractEventName() string {
	return RepFactoryTrackerDeployedEventName
}

// UnpackTrackerDeployedEvent is the Go binding that unpacks the event data emitted
// by contract.
//
// Solidity: event TrackerDeployed(address indexed trackerContract, address indexed authority, address indexed referrer, uint256 initialCredit)
func (repFactory *RepFactory) UnpackTrackerDeployedEvent(log *types.Log) (*RepFactoryTrackerDeployed, error) {
	event := "TrackerDeployed"
	if len(log.Topics) == 0 {
		return nil, bind.ErrNoEventSignature
	}
	if log.Topics[0] != repFactory.abi.Events[event].ID {
		return nil, bind.ErrEventSignatureMismatch
	}
	out := new(RepFactoryTrackerDeployed)
	if len(log.Data) > 0 {
		if err := repFactory.abi.UnpackIntoInterface(out, event, log.Data); err != nil {
			return nil, err
		}
	}
	var indexed abi.Arguments
	for _, arg := range repFactory.abi.Events[event].Inputs {
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
func (repFactory *RepFactory) UnpackError(raw []byte) (any, error) {
	if bytes.Equal(raw[:4], repFactory.abi.Errors["InitialCreditTooLarge"].ID.Bytes()[:4]) {
		return repFactory.UnpackInitialCreditTooLargeError(raw[4:])
	}
	if bytes.Equal(raw[:4], repFactory.abi.Errors["ReferrerNotContract"].ID.Bytes()[:4]) {
		return repFactory.UnpackReferrerNotContractError(raw[4:])
	}
	return nil, errors.New("Unknown error")
}

// RepFactoryInitialCreditTooLarge represents a InitialCreditTooLarge error raised by the RepFactory contract.
type RepFactoryInitialCreditTooLarge struct {
	InitialCredit *big.Int
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error InitialCreditTooLarge(uint256 initialCredit)
func RepFactoryInitialCreditTooLargeErrorID() common.Hash {
	return common.HexToHash("0x281042e68005e36dc5ff0ea4a3dfc7b5ca3253d0c571b9d773f90c61310b4b3a")
}

// UnpackInitialCreditTooLargeError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error InitialCreditTooLarge(uint256 initialCredit)
func (repFactory *RepFactory) UnpackInitialCreditTooLargeError(raw []byte) (*RepFactoryInitialCreditTooLarge, error) {
	out := new(RepFactoryInitialCreditTooLarge)
	if err := repFactory.abi.UnpackIntoInterface(out, "InitialCreditTooLarge", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// RepFactoryReferrerNotContract represents a ReferrerNotContract error raised by the RepFactory contract.
type RepFactoryReferrerNotContract struct {
	Referrer common.Address
}

// ErrorID returns the hash of canonical representation of the error's signature.
//
// Solidity: error ReferrerNotContract(address referrer)
func RepFactoryReferrerNotContractErrorID() common.Hash {
	return common.HexToHash("0x58c3ab067ae2f8a167501122a5f4f4a0ef0ec9b127e2def66fba8eab2a4c272a")
}

// UnpackReferrerNotContractError is the Go binding used to decode the provided
// error data into the corresponding Go error struct.
//
// Solidity: error ReferrerNotContract(address referrer)
func (repFactory *RepFactory) UnpackReferrerNotContractError(raw []byte) (*RepFactoryReferrerNotContract, error) {
	out := new(RepFactoryReferrerNotContract)
	if err := repFactory.abi.UnpackIntoInterface(out, "ReferrerNotContract", raw); err != nil {
		return nil, err
	}
	return out, nil
}
