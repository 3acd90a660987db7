// A client of the PBTS REST gateway that is not this codebase: it speaks the
// seed's paths (POST /register, POST /report, GET /reputation/{address})
// with messages built from DESIGN.md's text alone, signed with ethers.
//
//   node client.mjs register              -> {"address", "privateKey", "passkey"}
//   node client.mjs report KEY RECEIPT    -> the gateway's answer (RECEIPT: JSON without signature)
//   node client.mjs reputation ADDRESS    -> the gateway's answer
//
// Environment: PBTS_GATEWAY (http://host:port), PBTS_CHAIN_ID, PBTS_TRACKER_CONTRACT.
import { AbiCoder, Wallet, getAddress, getBytes, keccak256 } from "ethers";

const gateway = process.env.PBTS_GATEWAY;
const chainId = BigInt(process.env.PBTS_CHAIN_ID);
const tracker = getAddress(process.env.PBTS_TRACKER_CONTRACT);

async function call(method, path, body) {
  const res = await fetch(gateway + path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

// DESIGN.md, step 1: "the agent signs (EIP-191) a registration message naming
// the tracker contract, chain id, its address and a timestamp".
function registrationMessage(address, ts) {
  return ["PBTS agent registration", `chain: ${chainId}`, `tracker: ${tracker}`, `agent: ${address}`, `timestamp: ${ts}`].join("\n");
}

// DESIGN.md, "Receipt": keccak256(abi.encode(chainId, reputationTracker,
// infohash, sender, receiver, pieceHash, pieceIndex, pieceSize, timestamp)),
// personal_sign of the 32-byte digest by the receiver.
function receiptDigest(r) {
  const enc = AbiCoder.defaultAbiCoder().encode(
    ["uint256", "address", "bytes32", "address", "address", "bytes32", "uint256", "uint256", "uint256"],
    [chainId, tracker, r.infohash, r.sender, r.receiver, r.pieceHash, r.pieceIndex, r.pieceSize, r.timestamp],
  );
  return keccak256(enc);
}

const [cmd, ...args] = process.argv.slice(2);
let out;
if (cmd === "register") {
  const w = Wallet.createRandom();
  const ts = Math.floor(Date.now() / 1000);
  const signature = await w.signMessage(registrationMessage(w.address, ts));
  const res = await call("POST", "/register", { address: w.address, timestamp: ts, signature });
  if (res.status !== 200) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  out = { address: w.address, privateKey: w.privateKey, passkey: res.body.passkey };
} else if (cmd === "report") {
  const w = new Wallet(args[0]);
  const r = JSON.parse(args[1]);
  r.receiver = w.address;
  r.timestamp = Math.floor(Date.now() / 1000);
  r.signature = await w.signMessage(getBytes(receiptDigest(r)));
  out = await call("POST", "/report", r);
} else if (cmd === "reputation") {
  out = await call("GET", `/reputation/${args[0]}`);
} else {
  throw new Error(`unknown command ${cmd}`);
}
process.stdout.write(JSON.stringify(out) + "\n");
