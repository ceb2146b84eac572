"""SM2 and SM3 against published vectors, the openssl command line, and themselves.

Sources:
- SM3: GB/T 32905-2016 appendix A ("abc" and 16 x "abcd").
- SM2 on the recommended curve: GB/T 32918.5-2017 (GM/T 0003.5-2012) appendix A: the private key
  d, the public key it gives, the signature (r, s) of "message digest" under the default user id
  with the random k below, and the C1 C3 C2 ciphertext of "encryption standard" with the same k.
  OpenSSL takes no caller-chosen k (its nonce comes from its CSPRNG), so the published signature
  and ciphertext are checked by *verifying* and *decrypting* them, and the key by deriving the
  public key from d; our own signatures are then checked by OpenSSL's command line.
- OpenSSL's ``test/recipes/30-test_evp_data/evppkey_sm2.txt``: the SM2_key1 key and its
  decryption vector.
"""

from __future__ import annotations

import base64
import pickle
import subprocess
from pathlib import Path

import pytest
from asn1crypto import algos, keys, pem
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sscard_issuer.crypto import (
    DEFAULT_UID,
    CryptoError,
    InvalidSignature,
    Sm2PrivateKey,
    Sm2PublicKey,
    sm3,
)
from sscard_issuer.crypto.sm2 import _ORDER

# GB/T 32905-2016 appendix A
SM3_VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]

# GB/T 32918.5-2017 appendix A (recommended curve sm2p256v1)
D = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
XY = bytes.fromhex(
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"  # not settable in OpenSSL
MESSAGE = b"message digest"
R = int("F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3", 16)
S = int("B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA", 16)
PLAINTEXT = b"encryption standard"
C1 = (
    int("04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73", 16),
    int("E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0", 16),
)
C3 = bytes.fromhex("59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766")
C2 = bytes.fromhex("21886CA989CA9C7D58087307CA93092D651EFA")

# OpenSSL test/recipes/30-test_evp_data/evppkey_sm2.txt
OPENSSL_SM2_KEY1 = b"""-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqBHM9VAYItBG0wawIBAQQg0JFWczAXva2An9m7
2MaT9gIwWTFptvlKrxyO4TjMmbWhRANCAAQ5OirZ4n5DrKqrhaGdO4VZHhRAYVcX
Wt3Te/d/8Mr57Tf886i09VwDhSMmH8pmNq/mp6+ioUgqYG9cs6GLLioe
-----END PRIVATE KEY-----
"""
OPENSSL_SM2_KEY1_CIPHERTEXT = bytes.fromhex(
    "30818A0220466BE2EF5C11782EC77864A0055417F407A5AFC11D653C6BCE69E417BB1D05B6022062B572E21FF0DD"
    "F5C726BD3F9FF2EAE56E6294713A607E9B9525628965F62CC804203C1B5713B5DB2728EB7BF775E44F4689FC3266"
    "8BDC564F52EA45B09E8DF2A5F40422084A9D0CC2997092B7D3C404FCE95956EB604D732B2307A8E5B8900ED6608C"
    "A5B197"
)


def der_signature(r: int, s: int) -> bytes:
    return bytes(algos.DSASignature({"r": r, "s": s}).dump())


def sm2_cipher(x: int, y: int, c3: bytes, c2: bytes) -> bytes:
    from sscard_issuer.pki.envelope import Sm2Cipher

    return bytes(Sm2Cipher({"x": x, "y": y, "hash": c3, "ciphertext": c2}).dump())


def openssl_key1() -> Sm2PrivateKey:
    _, _, der = pem.unarmor(OPENSSL_SM2_KEY1)
    scalar = keys.PrivateKeyInfo.load(der)["private_key"].parsed["private_key"].native
    return Sm2PrivateKey.from_raw(int(scalar).to_bytes(32, "big"))


# -- SM3 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("message, digest", SM3_VECTORS, ids=["abc", "abcd*16"])
def test_sm3_standard_vectors(message: bytes, digest: str) -> None:
    assert sm3(message) == bytes.fromhex(digest)


def test_sm3_refuses_text() -> None:
    with pytest.raises(CryptoError):
        sm3("abc")  # type: ignore[arg-type]


# -- published SM2 vectors ---------------------------------------------------------------------


def test_the_published_private_key_gives_the_published_public_key() -> None:
    key = Sm2PrivateKey.from_raw(D)
    assert key.public_key().xy == XY
    assert key.private_bytes_raw() == D


def test_the_published_signature_verifies_under_the_default_uid() -> None:
    assert DEFAULT_UID == b"1234567812345678"
    public = Sm2PublicKey.from_xy(XY)
    public.verify(der_signature(R, S), MESSAGE)
    public.verify(der_signature(R, S), MESSAGE, uid=b"1234567812345678")


@pytest.mark.parametrize(
    "signature, message, uid",
    [
        (der_signature(R, S), b"message digesT", DEFAULT_UID),
        (der_signature(R, S), MESSAGE, b"ALICE123@YAHOO.COM"),
        (der_signature(R ^ 1, S), MESSAGE, DEFAULT_UID),
        (der_signature(R, S ^ 1), MESSAGE, DEFAULT_UID),
        (der_signature(S, R), MESSAGE, DEFAULT_UID),
    ],
    ids=["message", "uid", "r", "s", "swapped"],
)
def test_the_published_signature_fails_when_anything_changes(
    signature: bytes, message: bytes, uid: bytes
) -> None:
    with pytest.raises(InvalidSignature):
        Sm2PublicKey.from_xy(XY).verify(signature, message, uid=uid)


def test_the_published_ciphertext_decrypts() -> None:
    ciphertext = sm2_cipher(*C1, C3, C2)
    assert Sm2PrivateKey.from_raw(D).decrypt(ciphertext) == PLAINTEXT


def test_openssl_evp_vector_decrypts() -> None:
    assert openssl_key1().decrypt(OPENSSL_SM2_KEY1_CIPHERTEXT) == b"The floofy bunnies hop at midnight"


def test_a_ciphertext_with_a_changed_hash_or_body_is_refused() -> None:
    key = Sm2PrivateKey.from_raw(D)
    for bad in (sm2_cipher(*C1, bytes(32), C2), sm2_cipher(*C1, C3, bytes([C2[0] ^ 1]) + C2[1:])):
        with pytest.raises(CryptoError, match="decryption failed"):
            key.decrypt(bad)


# -- round trips and tampering ------------------------------------------------------------------


@pytest.fixture(scope="module")
def key() -> Sm2PrivateKey:
    return Sm2PrivateKey.generate()


@pytest.mark.parametrize("message", [b"", b"x", bytes(range(256)) * 40])
def test_sign_and_verify(key: Sm2PrivateKey, message: bytes) -> None:
    signature = key.sign(message)
    parsed = algos.DSASignature.load(signature, strict=True)
    assert 1 <= parsed["r"].native < _ORDER and 1 <= parsed["s"].native < _ORDER
    key.public_key().verify(signature, message)
    assert key.sign(message) != signature  # a fresh nonce every time


def test_the_uid_is_part_of_the_signature(key: Sm2PrivateKey) -> None:
    signature = key.sign(b"data", uid=b"holder@example")
    key.public_key().verify(signature, b"data", uid=b"holder@example")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, b"data")
    with pytest.raises(CryptoError):
        key.sign(b"data", uid=bytes(8192))


def test_every_flipped_signature_byte_is_refused(key: Sm2PrivateKey) -> None:
    signature = key.sign(b"tamper")
    for i in range(len(signature)):
        bad = bytearray(signature)
        bad[i] ^= 0x01
        with pytest.raises(InvalidSignature):
            key.public_key().verify(bytes(bad), b"tamper")


@pytest.mark.parametrize("signature", [b"", b"\x30\x00", b"junk", bytes(72), b"\x30" * 100])
def test_garbage_is_an_invalid_signature_not_a_crash(key: Sm2PrivateKey, signature: bytes) -> None:
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, b"x")


def test_another_keys_signature_is_refused(key: Sm2PrivateKey) -> None:
    with pytest.raises(InvalidSignature):
        key.public_key().verify(Sm2PrivateKey.generate().sign(b"x"), b"x")


@pytest.mark.parametrize("length", [1, 16, 32, 1000])
def test_encrypt_and_decrypt(key: Sm2PrivateKey, length: int) -> None:
    plaintext = bytes(range(256)) * 4
    plaintext = plaintext[:length]
    ciphertext = key.public_key().encrypt(plaintext)
    assert key.decrypt(ciphertext) == plaintext
    assert key.public_key().encrypt(plaintext) != ciphertext


def test_decrypt_refuses_what_is_not_for_it(key: Sm2PrivateKey) -> None:
    ciphertext = Sm2PrivateKey.generate().public_key().encrypt(b"secret")
    for bad in (ciphertext, ciphertext[:-1], b"\x30\x03abc", b"x"):
        with pytest.raises(CryptoError, match="decryption failed"):
            key.decrypt(bad)
    with pytest.raises(CryptoError):
        key.public_key().encrypt(b"")


# -- key forms ----------------------------------------------------------------------------------


def test_public_key_forms_round_trip(key: Sm2PrivateKey) -> None:
    public = key.public_key()
    assert Sm2PublicKey.from_xy(public.xy) == public
    assert Sm2PublicKey.from_der(public.to_der()) == public
    info = keys.PublicKeyInfo.load(public.to_der())
    assert info["algorithm"]["algorithm"].dotted == "1.2.840.10045.2.1"  # id-ecPublicKey
    assert info["algorithm"]["parameters"].chosen.dotted == "1.2.156.10197.1.301"
    assert len({public, Sm2PublicKey.from_xy(public.xy)}) == 1


def test_a_compressed_point_is_read_and_given_back_uncompressed() -> None:
    prefix = bytes.fromhex("3039301306072a8648ce3d020106082a811ccf5501822d032200")
    compressed = prefix + bytes([0x02 | (XY[-1] & 1)]) + XY[:32]
    public = Sm2PublicKey.from_der(compressed)
    assert public.xy == XY
    assert public.to_der() == Sm2PublicKey.from_xy(XY).to_der()


@pytest.mark.parametrize(
    "xy",
    [bytes(64), XY[:-1] + bytes([XY[-1] ^ 1]), XY[:63], XY + b"\x00"],
    ids=["zero", "off-curve", "short", "long"],
)
def test_bad_public_keys_are_refused(xy: bytes) -> None:
    with pytest.raises(CryptoError):
        Sm2PublicKey.from_xy(xy)


def test_a_nist_p256_key_is_not_an_sm2_key() -> None:
    der = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(CryptoError, match="SM2"):
        Sm2PublicKey.from_der(der)
    with pytest.raises(CryptoError, match="trailing"):
        Sm2PublicKey.from_der(Sm2PublicKey.from_xy(XY).to_der() + b"\x00")


@pytest.mark.parametrize(
    "scalar",
    [bytes(32), (_ORDER - 1).to_bytes(32, "big"), (_ORDER).to_bytes(32, "big"), b"\xff" * 32, D[:31]],
    ids=["zero", "n-1", "n", "ff", "short"],
)
def test_bad_private_scalars_are_refused(scalar: bytes) -> None:
    with pytest.raises(CryptoError):
        Sm2PrivateKey.from_raw(scalar)


def test_the_largest_valid_scalar_works() -> None:
    key = Sm2PrivateKey.from_raw((_ORDER - 2).to_bytes(32, "big"))
    key.public_key().verify(key.sign(b"edge"), b"edge")


def test_keys_show_no_bytes_and_cannot_be_copied(key: Sm2PrivateKey) -> None:
    scalar_hex = key.private_bytes_raw().hex()
    for text in (repr(key), str(key), repr(key.public_key())):
        assert scalar_hex not in text.lower() and scalar_hex.upper() not in text
    assert key.public_key().xy.hex() not in repr(key.public_key()).lower()
    for obj in (key, key.public_key()):
        with pytest.raises(TypeError):
            pickle.dumps(obj)
    with pytest.raises(TypeError):
        Sm2PrivateKey(1234)
    with pytest.raises(TypeError):
        Sm2PublicKey(1234, XY)


def test_errors_name_openssl_reasons_not_key_bytes() -> None:
    with pytest.raises(CryptoError) as info:
        Sm2PublicKey.from_der(b"\x30\x03\x02\x01\x00")
    message = str(info.value)
    assert message.startswith("SM2: public key is not a valid key") and "error:" in message


# -- the openssl command line -------------------------------------------------------------------


def openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, check=False)


def write_public_pem(path: Path, public: Sm2PublicKey) -> Path:
    path.write_text(
        "-----BEGIN PUBLIC KEY-----\n" + base64.encodebytes(public.to_der()).decode("ascii")
        + "-----END PUBLIC KEY-----\n",
        encoding="ascii",
    )
    return path


def test_openssl_verifies_our_signature_with_the_default_distid(tmp_path: Path, key: Sm2PrivateKey) -> None:
    pub = write_public_pem(tmp_path / "pub.pem", key.public_key())
    (tmp_path / "msg").write_bytes(b"signed by sscard-issuer")
    (tmp_path / "sig").write_bytes(key.sign(b"signed by sscard-issuer"))
    verify: list[str | Path] = ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
              "-in", tmp_path / "msg", "-sigfile", tmp_path / "sig"]
    good = openssl(*verify, "-pkeyopt", "distid:1234567812345678")
    assert good.returncode == 0, good.stderr
    assert b"Signature Verified Successfully" in good.stdout
    assert openssl(*verify, "-pkeyopt", "distid:1234567812345679").returncode != 0


def test_openssl_3_0_uses_an_empty_uid_when_none_is_given(tmp_path: Path, key: Sm2PrivateKey) -> None:
    # Why certificates and signatures must name the uid: OpenSSL 3.0's default is not GM/T 0009's.
    pub = write_public_pem(tmp_path / "pub.pem", key.public_key())
    (tmp_path / "msg").write_bytes(b"no uid")
    (tmp_path / "sig").write_bytes(key.sign(b"no uid", uid=b""))
    done = openssl("pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
                   "-in", tmp_path / "msg", "-sigfile", tmp_path / "sig")
    assert done.returncode == 0, done.stderr
    with pytest.raises(InvalidSignature):
        key.public_key().verify(key.sign(b"no uid", uid=b""), b"no uid")


def test_we_verify_an_openssl_signature(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes(OPENSSL_SM2_KEY1)
    (tmp_path / "msg").write_bytes(b"signed by openssl")
    done = openssl("pkeyutl", "-sign", "-inkey", tmp_path / "key.pem", "-rawin", "-digest", "sm3",
                   "-pkeyopt", "distid:1234567812345678", "-in", tmp_path / "msg",
                   "-out", tmp_path / "sig")
    assert done.returncode == 0, done.stderr
    openssl_key1().public_key().verify((tmp_path / "sig").read_bytes(), b"signed by openssl")


def test_openssl_and_we_decrypt_each_others_ciphertexts(tmp_path: Path) -> None:
    key = openssl_key1()
    (tmp_path / "key.pem").write_bytes(OPENSSL_SM2_KEY1)
    (tmp_path / "ours.bin").write_bytes(key.public_key().encrypt(b"from sscard-issuer"))
    done = openssl("pkeyutl", "-decrypt", "-inkey", tmp_path / "key.pem", "-in", tmp_path / "ours.bin")
    assert (done.returncode, done.stdout) == (0, b"from sscard-issuer"), done.stderr
    pub = write_public_pem(tmp_path / "pub.pem", key.public_key())
    (tmp_path / "plain").write_bytes(b"from openssl")
    done = openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", pub, "-in", tmp_path / "plain",
                   "-out", tmp_path / "theirs.bin")
    assert done.returncode == 0, done.stderr
    assert key.decrypt((tmp_path / "theirs.bin").read_bytes()) == b"from openssl"
