// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ChiralChannels: unidirectional payment channels for Chiral's Style 2 payments
/// @notice A payer opens a channel to a payee with a deposit, a session key (`signer`) and a
/// timeout. The signer signs EIP-712 vouchers `Voucher(bytes32 channelId,uint256 amount)` for
/// cumulative amounts in wei; the payee closes with the highest one it holds and gets that
/// amount, the payer the rest, in the same transaction. A closed channel stays closed, so no
/// voucher can be replayed. If the payee never closes, the payer reclaims the whole deposit
/// once `expiresAt` has passed.
contract ChiralChannels {
    /// One channel. Packed: payer, expiresAt and closed share a slot.
    struct Channel {
        address payer;
        uint64 expiresAt;
        bool closed;
        address payee;
        address signer;
        uint256 deposit;
    }

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 channelId,uint256 amount)");
    bytes32 private constant NAME_HASH = keccak256("ChiralChannels");
    bytes32 private constant VERSION_HASH = keccak256("1");
    /// secp256k1 n / 2: a larger `s` is the malleable twin of a valid signature (EIP-2).
    uint256 private constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    mapping(bytes32 => Channel) private _channels;
    /// How many channels each payer has opened: the last input of the next channel id.
    mapping(address => uint256) public nonces;
    /// Refunds a payer refused when its channel closed, waiting for `withdraw`.
    mapping(address => uint256) public refunds;
    /// Gas given to the payer's refund call in `close` (enough for a smart wallet's fallback,
    /// too little to make the close run out of gas).
    uint256 private constant REFUND_GAS = 50_000;

    event ChannelOpened(
        bytes32 indexed id, address indexed payer, address indexed payee, address signer, uint256 deposit, uint64 expiresAt
    );
    event ChannelToppedUp(bytes32 indexed id, uint256 deposit, uint64 expiresAt);
    event ChannelClosed(bytes32 indexed id, uint256 paid, uint256 refunded);
    event ChannelReclaimed(bytes32 indexed id, uint256 refunded);

    error ZeroDeposit();
    error ZeroAddress();
    error UnknownChannel();
    error AlreadyClosed();
    error NotPayer();
    error NotPayee();
    error AmountExceedsDeposit();
    error MalformedSignature();
    error WrongSigner();
    error NotExpired();
    error TransferFailed();

    /// Opens a channel from `msg.sender` to `payee` holding `msg.value` wei, with vouchers
    /// signed by `signer`, reclaimable by the payer `timeout` seconds from now.
    function open(address payee, address signer, uint64 timeout) external payable returns (bytes32 id) {
        if (msg.value == 0) revert ZeroDeposit();
        if (payee == address(0) || signer == address(0)) revert ZeroAddress();
        id = keccak256(abi.encode(block.chainid, address(this), msg.sender, payee, signer, nonces[msg.sender]++));
        uint64 expiresAt = uint64(block.timestamp) + timeout;
        _channels[id] = Channel({
            payer: msg.sender, expiresAt: expiresAt, closed: false, payee: payee, signer: signer, deposit: msg.value
        });
        emit ChannelOpened(id, msg.sender, payee, signer, msg.value, expiresAt);
    }

    /// Adds `msg.value` to the deposit and moves the expiry to `expiresAt` if that is later.
    function topUp(bytes32 id, uint64 expiresAt) external payable {
        Channel storage c = _open(id);
        if (msg.sender != c.payer) revert NotPayer();
        c.deposit += msg.value;
        if (expiresAt > c.expiresAt) c.expiresAt = expiresAt;
        emit ChannelToppedUp(id, c.deposit, c.expiresAt);
    }

    /// The payee settles with the signer's voucher for `amount` wei (65 bytes r, s, v; v 27 or 28).
    function close(bytes32 id, uint256 amount, bytes calldata signature) external {
        Channel storage c = _open(id);
        if (msg.sender != c.payee) revert NotPayee();
        uint256 deposit = c.deposit;
        if (amount > deposit) revert AmountExceedsDeposit();
        if (_recover(voucherDigest(id, amount), signature) != c.signer) revert WrongSigner();
        c.closed = true;
        emit ChannelClosed(id, amount, deposit - amount);
        _send(c.payee, amount);
        _refund(c.payer, deposit - amount);
    }

    /// Takes refunds that could not be pushed when a channel closed.
    function withdraw() external {
        uint256 amount = refunds[msg.sender];
        refunds[msg.sender] = 0;
        _send(msg.sender, amount);
    }

    /// After the expiry, the payer takes the whole deposit back.
    function reclaim(bytes32 id) external {
        Channel storage c = _open(id);
        if (msg.sender != c.payer) revert NotPayer();
        if (block.timestamp < c.expiresAt) revert NotExpired();
        c.closed = true;
        uint256 deposit = c.deposit;
        emit ChannelReclaimed(id, deposit);
        _send(c.payer, deposit);
    }

    /// A channel's state (all zero for an unknown id).
    function channels(bytes32 id)
        external
        view
        returns (address payer, address payee, address signer, uint256 deposit, uint64 expiresAt, bool closed)
    {
        Channel storage c = _channels[id];
        return (c.payer, c.payee, c.signer, c.deposit, c.expiresAt, c.closed);
    }

    /// The EIP-712 digest the signer signs for `amount` wei on channel `id`.
    function voucherDigest(bytes32 id, uint256 amount) public view returns (bytes32) {
        bytes32 domain = keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
        bytes32 voucher = keccak256(abi.encode(VOUCHER_TYPEHASH, id, amount));
        return keccak256(abi.encodePacked("\x19\x01", domain, voucher));
    }

    function _open(bytes32 id) private view returns (Channel storage c) {
        c = _channels[id];
        if (c.payer == address(0)) revert UnknownChannel();
        if (c.closed) revert AlreadyClosed();
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        if (signature.length != 65) revert MalformedSignature();
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > HALF_N || (v != 27 && v != 28)) revert MalformedSignature();
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert MalformedSignature();
    }

    /// The payer's part of a close: pushed with bounded gas; a payer that refuses it (a
    /// contract without a payable fallback) gets it credited for `withdraw` instead, so it
    /// can never block the payee's close and then reclaim everything after the timeout.
    function _refund(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount, gas: REFUND_GAS}("");
        if (!ok) refunds[to] += amount;
    }

    function _send(address to, uint256 amount) private {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
