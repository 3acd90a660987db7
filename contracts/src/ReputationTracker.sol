// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title IReputationSource
/// @notice The reads a ReputationTracker needs from its referrer.
interface IReputationSource {
    /// @notice Figures stored by this tracker itself, without any delegation.
    /// @param agent The agent's address.
    /// @return uploadBytes Uploaded bytes credited to the agent (including the initial credit).
    /// @return downloadBytes Downloaded bytes debited to the agent.
    /// @return lastUpdated Unix time of the agent's last write on this tracker (0 if unknown).
    /// @return known True if the agent is registered on this tracker itself.
    function getLocalReputation(address agent)
        external
        view
        returns (uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known);

    /// @notice The figures of the nearest tracker that knows the agent: this one, else its referrer
    /// chain, at most `hops` referrers further up.
    /// @param agent The agent's address.
    /// @param hops How many referrers beyond this tracker may still be asked.
    /// @return uploadBytes Uploaded bytes on the tracker that knows the agent.
    /// @return downloadBytes Downloaded bytes there.
    /// @return lastUpdated Unix time of the agent's last write there (0 if nobody knows it).
    /// @return source The tracker that holds the figures; 0 if none within reach knows the agent.
    function findReputation(address agent, uint256 hops)
        external
        view
        returns (uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, address source);
}

/// @title ReputationTracker
/// @author PBTS
/// @notice On-chain upload/download reputation of the agents of one PBTS private BitTorrent tracker.
///
/// The single `tracker` authority (immutable, no owner, no setter) registers agents and settles
/// batches of verified piece receipts as per-agent byte deltas. Every batch commits to the Merkle
/// root of its receipt digests (OpenZeppelin StandardMerkleTree, leaf type `bytes32`), so anybody can
/// audit any receipt with {verifyReceipt}.
///
/// A tracker may name a `referrer` (an older ReputationTracker). Agents never seen here are read
/// from the nearest tracker up the referrer chain that knows them (at most MAX_REFERRER_DEPTH
/// referrers up), and are imported with those figures on their first write here, so a free-rider
/// cannot start over by moving to a new tracker, however many generations later (within the depth).
/// The chain cannot loop: a referrer must already be deployed when its child is constructed.
///
/// Storage: one slot per agent: uint112 uploadBytes | uint112 downloadBytes | uint32 lastUpdated
/// (bits 0..111, 112..223, 224..255, the same layout solc uses for the equivalent struct).
/// lastUpdated != 0 means "known here". Figures never exceed 2^112-1 bytes (5.19e33); a write
/// that would exceed that reverts with {ReputationOverflow}.
contract ReputationTracker is IReputationSource {
    // ---------------------------------------------------------------- constants

    /// @notice Maximum number of agents in one {registerBatch} or {settle} call.
    uint256 public constant MAX_BATCH_SIZE = 256;

    /// @notice How many referrers up the chain a read or an import may look (this tracker not counted).
    uint256 public constant MAX_REFERRER_DEPTH = 8;

    /// @dev Largest figure that fits in the packed slot.
    uint256 private constant MAX_BYTES = type(uint112).max;

    // ---------------------------------------------------------------- immutables & storage

    /// @notice The only address allowed to register agents and settle batches. Fixed at construction.
    address public immutable tracker;

    /// @notice Upload bytes granted to a newly registered agent the referrer does not know.
    uint256 public immutable initialCredit;

    /// @notice Older ReputationTracker consulted (and through it, its own referrers) for agents unknown here; 0 for none.
    address public immutable referrer;

    /// @notice Id of the last settled batch (0 before the first); the next settle must use lastBatchId + 1.
    uint256 public lastBatchId;

    /// @notice Merkle root of the receipt digests of each settled batch (0 for unsettled ids).
    mapping(uint256 batchId => bytes32 root) public batchRoot;

    /// @dev Packed per-agent figures, see the contract NatSpec.
    mapping(address agent => uint256 packed) private _accounts;

    // ---------------------------------------------------------------- events

    /// @notice A new agent was registered with a fresh initial credit.
    /// @param agent The agent's address.
    /// @param initialCredit Upload bytes granted (its uploadBytes afterwards; downloadBytes is 0).
    event AgentRegistered(address indexed agent, uint256 initialCredit);

    /// @notice An agent known up the referrer chain was imported here with the figures found there.
    /// @param agent The agent's address.
    /// @param source The tracker the figures came from (the referrer, or one further up its chain).
    /// @param uploadBytes The agent's uploadBytes afterwards.
    /// @param downloadBytes The agent's downloadBytes afterwards.
    event AgentImported(address indexed agent, address indexed source, uint256 uploadBytes, uint256 downloadBytes);

    /// @notice An agent's figures changed in a settled batch (emitted once per entry of the batch).
    /// @param agent The agent's address.
    /// @param batchId The batch that changed them.
    /// @param uploadBytes The agent's total uploadBytes afterwards.
    /// @param downloadBytes The agent's total downloadBytes afterwards.
    event ReputationUpdated(address indexed agent, uint256 indexed batchId, uint256 uploadBytes, uint256 downloadBytes);

    /// @notice A batch of receipts was settled.
    /// @param batchId The batch id (== lastBatchId afterwards).
    /// @param receiptsRoot Merkle root of the batch's receipt digests.
    /// @param agentCount Number of entries in the batch.
    /// @param totalUploadDelta Sum of the batch's upload deltas.
    /// @param totalDownloadDelta Sum of the batch's download deltas.
    event BatchSettled(
        uint256 indexed batchId,
        bytes32 receiptsRoot,
        uint256 agentCount,
        uint256 totalUploadDelta,
        uint256 totalDownloadDelta
    );

    // ---------------------------------------------------------------- errors

    /// @notice The caller is not the tracker authority.
    /// @param caller The rejected caller.
    error NotTracker(address caller);
    /// @notice The zero address was given where an agent or authority is required.
    error ZeroAddress();
    /// @notice The referrer is neither zero nor a contract.
    /// @param referrer The rejected referrer.
    error ReferrerNotContract(address referrer);
    /// @notice The initial credit does not fit the 112-bit figures.
    /// @param initialCredit The rejected initial credit.
    error InitialCreditTooLarge(uint256 initialCredit);
    /// @notice {register} of an agent already known here.
    /// @param agent The agent's address.
    error AlreadyRegistered(address agent);
    /// @notice {settle} names an agent neither this tracker nor its referrer chain knows.
    /// @param agent The agent's address.
    error UnknownAgent(address agent);
    /// @notice {settle} with a batch id other than lastBatchId + 1.
    /// @param expected lastBatchId + 1.
    /// @param got The batch id given.
    error BadBatchId(uint256 expected, uint256 got);
    /// @notice {settle} with arrays of different lengths.
    /// @param agents Length of agents.
    /// @param uploadDeltas Length of uploadDeltas.
    /// @param downloadDeltas Length of downloadDeltas.
    error LengthMismatch(uint256 agents, uint256 uploadDeltas, uint256 downloadDeltas);
    /// @notice An empty batch.
    error EmptyBatch();
    /// @notice A batch longer than MAX_BATCH_SIZE.
    /// @param size The batch length.
    /// @param max MAX_BATCH_SIZE.
    error BatchTooLarge(uint256 size, uint256 max);
    /// @notice {settle} with a zero receipts root (every batch must be auditable).
    error ZeroReceiptsRoot();
    /// @notice A figure of the agent would exceed 2^112 - 1.
    /// @param agent The agent's address.
    error ReputationOverflow(address agent);

    // ---------------------------------------------------------------- construction

    /// @notice Deploys a tracker.
    /// @param tracker_ The authority allowed to register and settle (immutable).
    /// @param initialCredit_ Upload bytes granted to fresh agents (must fit 112 bits).
    /// @param referrer_ Older ReputationTracker to inherit from, or 0 for a genesis tracker.
    constructor(address tracker_, uint256 initialCredit_, address referrer_) {
        if (tracker_ == address(0)) revert ZeroAddress();
        if (initialCredit_ > MAX_BYTES) revert InitialCreditTooLarge(initialCredit_);
        if (referrer_ != address(0) && referrer_.code.length == 0) revert ReferrerNotContract(referrer_);
        tracker = tracker_;
        initialCredit = initialCredit_;
        referrer = referrer_;
    }

    /// @dev Restricts a function to the tracker authority.
    modifier onlyTracker() {
        if (msg.sender != tracker) revert NotTracker(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- writes

    /// @notice Registers an agent: imports its figures if the referrer chain knows it, else grants initialCredit.
    /// @dev Emits {AgentImported} or {AgentRegistered}.
    /// @param agent The agent's address (non-zero, not yet known here).
    function register(address agent) external onlyTracker {
        if (agent == address(0)) revert ZeroAddress();
        if (_accounts[agent] != 0) revert AlreadyRegistered(agent);
        _register(agent);
    }

    /// @notice Registers many agents; agents already known here are skipped (idempotent for retries).
    /// @dev Emits {AgentImported} or {AgentRegistered} per newly registered agent.
    /// @param agents The agents' addresses (non-zero; 1..MAX_BATCH_SIZE entries).
    /// @return registered Number of agents newly registered by this call.
    function registerBatch(address[] calldata agents) external onlyTracker returns (uint256 registered) {
        uint256 n = agents.length;
        if (n == 0) revert EmptyBatch();
        if (n > MAX_BATCH_SIZE) revert BatchTooLarge(n, MAX_BATCH_SIZE);
        for (uint256 i; i < n;) {
            address agent = agents[i];
            if (agent == address(0)) revert ZeroAddress();
            if (_accounts[agent] == 0) {
                _register(agent);
                unchecked {
                    ++registered;
                }
            }
            unchecked {
                ++i;
            }
        }
    }

    /// @notice Applies one batch of verified receipts as per-agent byte deltas.
    /// @dev batchId must be lastBatchId + 1, which makes a batch exactly-once across retries.
    /// An agent unknown here but known up the referrer chain is imported with those figures first
    /// (emitting {AgentImported}). An agent may appear more than once: its entries are applied in
    /// order (equivalent to summing them) and each emits {ReputationUpdated} with the running totals.
    /// Emits {ReputationUpdated} per entry and one {BatchSettled}.
    /// @param batchId lastBatchId + 1.
    /// @param receiptsRoot Non-zero Merkle root (StandardMerkleTree, bytes32 leaves) of the batch's receipt digests.
    /// @param agents Agents (1..MAX_BATCH_SIZE entries), each known here or up the referrer chain.
    /// @param uploadDeltas Bytes each agent uploaded in this batch (added to uploadBytes).
    /// @param downloadDeltas Bytes each agent downloaded in this batch (added to downloadBytes).
    function settle(
        uint256 batchId,
        bytes32 receiptsRoot,
        address[] calldata agents,
        uint256[] calldata uploadDeltas,
        uint256[] calldata downloadDeltas
    ) external onlyTracker {
        {
            uint256 expected;
            unchecked {
                expected = lastBatchId + 1; // lastBatchId only ever grows by one: cannot overflow
            }
            if (batchId != expected) revert BadBatchId(expected, batchId);
        }
        uint256 n = agents.length;
        if (n != uploadDeltas.length || n != downloadDeltas.length) {
            revert LengthMismatch(n, uploadDeltas.length, downloadDeltas.length);
        }
        if (n == 0) revert EmptyBatch();
        if (n > MAX_BATCH_SIZE) revert BatchTooLarge(n, MAX_BATCH_SIZE);
        if (receiptsRoot == bytes32(0)) revert ZeroReceiptsRoot();

        uint256 stamp = _now() << 224;
        uint256 totalUp;
        uint256 totalDown;
        // Hot loop, one cold SLOAD + one SSTORE + one LOG3 per entry. To stay within the legacy
        // code generator's stack, the assembly re-reads batchId and the array data pointers from the
        // (already ABI-validated) calldata head: batchId at 0x04, the array offsets at 0x44/0x64/0x84,
        // relative to 0x04, each pointing at a length word (hence + 0x24 for the first element).
        for (uint256 i; i < n;) {
            address agent;
            uint256 slot;
            uint256 packed;
            assembly ("memory-safe") {
                agent := calldataload(add(add(0x24, calldataload(0x44)), shl(5, i)))
                if shr(160, agent) { revert(0, 0) } // dirty address bits, as the ABI decoder would
                mstore(0x00, agent)
                mstore(0x20, _accounts.slot)
                slot := keccak256(0x00, 0x40)
                packed := sload(slot)
            }
            if (packed == 0) packed = _import(agent); // first write of an agent the referrer chain knows
            assembly ("memory-safe") {
                let max := 0xffffffffffffffffffffffffffff // type(uint112).max
                let o := shl(5, i)
                let upDelta := calldataload(add(add(0x24, calldataload(0x64)), o))
                let downDelta := calldataload(add(add(0x24, calldataload(0x84)), o))
                let up := and(packed, max)
                let down := and(shr(112, packed), max)
                if or(gt(upDelta, sub(max, up)), gt(downDelta, sub(max, down))) {
                    mstore(0x00, 0x2ce69eb2) // ReputationOverflow(address)
                    mstore(0x20, agent)
                    revert(0x1c, 0x24)
                }
                up := add(up, upDelta)
                down := add(down, downDelta)
                sstore(slot, or(or(up, shl(112, down)), stamp))
                mstore(0x00, up)
                mstore(0x20, down)
                // ReputationUpdated(address indexed agent, uint256 indexed batchId, uint256, uint256)
                log3(
                    0x00,
                    0x40,
                    0xc2fd17ad7e9f23b8607f0bd02d7a6cdcccd5a964fa99ce5a066ed34c5b4bb55b,
                    agent,
                    calldataload(0x04)
                )
                // Each applied delta is < 2^112 and n <= 256: the totals cannot overflow.
                totalUp := add(totalUp, upDelta)
                totalDown := add(totalDown, downDelta)
            }
            unchecked {
                ++i;
            }
        }
        lastBatchId = batchId;
        batchRoot[batchId] = receiptsRoot;
        emit BatchSettled(batchId, receiptsRoot, n, totalUp, totalDown);
    }

    // ---------------------------------------------------------------- views

    /// @notice The agent's figures: local ones if known here, else those of the nearest tracker up the
    /// referrer chain that knows it (at most MAX_REFERRER_DEPTH referrers up).
    /// @param agent The agent's address.
    /// @return uploadBytes Uploaded bytes (including the initial credit).
    /// @return downloadBytes Downloaded bytes.
    /// @return lastUpdated Unix time of the agent's last write on the tracker that holds the figures.
    /// @return known True if this tracker or one up its referrer chain knows the agent.
    function getReputation(address agent)
        public
        view
        returns (uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known)
    {
        address source;
        (uploadBytes, downloadBytes, lastUpdated, source) = _find(agent, MAX_REFERRER_DEPTH);
        known = source != address(0);
    }

    /// @inheritdoc IReputationSource
    function getLocalReputation(address agent)
        external
        view
        returns (uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known)
    {
        return _unpack(_accounts[agent]);
    }

    /// @inheritdoc IReputationSource
    function findReputation(address agent, uint256 hops)
        external
        view
        returns (uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, address source)
    {
        return _find(agent, hops);
    }

    /// @notice Upload/download ratio as an 18-decimal fixed-point number (1e18 == 1.0), with delegation.
    /// @dev floor(uploadBytes * 1e18 / downloadBytes); type(uint256).max when a known agent has downloaded
    /// nothing (infinite ratio); 0 for an unknown agent. Cannot overflow: uploadBytes < 2^112.
    /// @param agent The agent's address.
    /// @return ratioWad The ratio scaled by 1e18.
    function getRatio(address agent) external view returns (uint256 ratioWad) {
        (uint256 up, uint256 down,, bool known) = getReputation(agent);
        if (!known) return 0;
        if (down == 0) return type(uint256).max;
        return up * 1e18 / down;
    }

    /// @notice Whether the agent may leech `left` more bytes: known && uploadBytes / (downloadBytes + left) >= 0.5.
    /// @dev Integer form 2*up >= down + left, evaluated without overflow for any `left`. With delegation.
    /// This checks settled figures only; the off-chain tracker adds pending bytes and may use another threshold.
    /// @param agent The agent's address.
    /// @param left Bytes the agent still wants to download (BitTorrent `left`).
    /// @return allowed True if leeching is allowed.
    function canLeech(address agent, uint256 left) external view returns (bool allowed) {
        (uint256 up, uint256 down,, bool known) = getReputation(agent);
        if (!known) return false;
        uint256 twiceUp = up << 1; // up < 2^112
        return twiceUp >= down && twiceUp - down >= left;
    }

    /// @notice Whether the agent is registered here or up the referrer chain.
    /// @param agent The agent's address.
    /// @return registered True if known here or to a tracker up the referrer chain (see getReputation).
    function isRegistered(address agent) external view returns (bool registered) {
        (,,, registered) = getReputation(agent);
    }

    /// @notice Checks that a receipt digest belongs to a settled batch.
    /// @dev OpenZeppelin StandardMerkleTree with leaf type bytes32:
    /// leaf = keccak256(bytes.concat(keccak256(abi.encode(receiptDigest)))), sorted-pair keccak256 nodes.
    /// @param batchId A settled batch id.
    /// @param receiptDigest The receipt digest (see {digest}).
    /// @param proof Sibling hashes from the leaf up to the root.
    /// @return valid True if the proof leads to batchRoot[batchId] (always false for unsettled batches).
    function verifyReceipt(uint256 batchId, bytes32 receiptDigest, bytes32[] calldata proof)
        external
        view
        returns (bool valid)
    {
        bytes32 root = batchRoot[batchId];
        if (root == bytes32(0)) return false;
        bytes32 node = receiptLeaf(receiptDigest);
        for (uint256 i; i < proof.length;) {
            node = _hashPair(node, proof[i]);
            unchecked {
                ++i;
            }
        }
        return node == root;
    }

    /// @notice The StandardMerkleTree leaf hash of a receipt digest.
    /// @param receiptDigest The receipt digest.
    /// @return leaf keccak256(bytes.concat(keccak256(abi.encode(receiptDigest)))).
    function receiptLeaf(bytes32 receiptDigest) public pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            mstore(0x00, receiptDigest)
            mstore(0x00, keccak256(0x00, 0x20))
            leaf := keccak256(0x00, 0x20)
        }
    }

    /// @notice The digest a receiver signs (EIP-191 personal_sign) for one piece received, bound to this
    /// chain and this tracker contract.
    /// @param infohash BitTorrent v1 info hash left-aligned, or v2 info hash.
    /// @param sender The agent that supplied the bytes.
    /// @param receiver The agent that received the bytes (the signer).
    /// @param pieceHash sha256 of the piece data.
    /// @param pieceIndex The piece index.
    /// @param pieceSize Bytes of the piece the sender supplied.
    /// @param timestamp Unix seconds.
    /// @return receiptDigest keccak256(abi.encode(block.chainid, address(this), infohash, sender, receiver,
    /// pieceHash, pieceIndex, pieceSize, timestamp)).
    function digest(
        bytes32 infohash,
        address sender,
        address receiver,
        bytes32 pieceHash,
        uint256 pieceIndex,
        uint256 pieceSize,
        uint256 timestamp
    ) external view returns (bytes32 receiptDigest) {
        return keccak256(
            abi.encode(
                block.chainid, address(this), infohash, sender, receiver, pieceHash, pieceIndex, pieceSize, timestamp
            )
        );
    }

    // ---------------------------------------------------------------- internals

    /// @dev The figures of the nearest tracker that knows the agent: here, else up to `hops` referrers
    /// up. No fallback when the referrer's call fails: a read that ran out of gas must revert, never
    /// look like "unknown" (which would grant a fresh credit to an agent with a history).
    function _find(address agent, uint256 hops)
        private
        view
        returns (uint256 up, uint256 down, uint256 last, address source)
    {
        uint256 packed = _accounts[agent];
        if (packed != 0) {
            (up, down, last,) = _unpack(packed);
            return (up, down, last, address(this));
        }
        if (referrer == address(0) || hops == 0) return (0, 0, 0, address(0));
        return IReputationSource(referrer).findReputation(agent, hops - 1);
    }

    /// @dev Registers an agent not known here: imports it from the referrer chain, else grants
    /// initialCredit.
    function _register(address agent) private {
        (uint256 up, uint256 down,, address source) = _find(agent, MAX_REFERRER_DEPTH);
        if (source != address(0)) {
            _store(agent, up, down, source);
            return;
        }
        _accounts[agent] = initialCredit | (_now() << 224);
        emit AgentRegistered(agent, initialCredit);
    }

    /// @dev First write of an agent unknown here: import it from the referrer chain or revert UnknownAgent.
    /// Returns the new packed slot (figures from the source, lastUpdated = now).
    function _import(address agent) private returns (uint256 packed) {
        if (agent != address(0)) {
            (uint256 up, uint256 down,, address source) = _find(agent, MAX_REFERRER_DEPTH);
            if (source != address(0)) return _store(agent, up, down, source);
        }
        revert UnknownAgent(agent);
    }

    /// @dev Stores imported figures and emits AgentImported.
    function _store(address agent, uint256 up, uint256 down, address source) private returns (uint256 packed) {
        if (up > MAX_BYTES || down > MAX_BYTES) revert ReputationOverflow(agent);
        packed = up | (down << 112) | (_now() << 224);
        _accounts[agent] = packed;
        emit AgentImported(agent, source, up, down);
    }

    /// @dev block.timestamp as the non-zero 32-bit lastUpdated (valid until 2106).
    function _now() private view returns (uint256 t) {
        t = uint32(block.timestamp);
        if (t == 0) t = 1;
    }

    /// @dev Unpacks a slot; a zero slot is an unknown agent.
    function _unpack(uint256 packed)
        private
        pure
        returns (uint256 uploadBytes, uint256 downloadBytes, uint256 lastUpdated, bool known)
    {
        uploadBytes = packed & MAX_BYTES;
        downloadBytes = (packed >> 112) & MAX_BYTES;
        lastUpdated = packed >> 224;
        known = lastUpdated != 0;
    }

    /// @dev Commutative keccak256 of two nodes (OpenZeppelin Hashes.commutativeKeccak256).
    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            switch lt(a, b)
            case 1 {
                mstore(0x00, a)
                mstore(0x20, b)
            }
            default {
                mstore(0x00, b)
                mstore(0x20, a)
            }
            h := keccak256(0x00, 0x40)
        }
    }
}
