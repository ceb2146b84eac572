"""Token Status List: the draft's own lists, get/set bounds, decompression bombs, sharded random indices.

Vectors are copied verbatim from two editor's copies of draft-ietf-oauth-status-list (the rendered
draft-ietf-oauth-status-list.txt of github.com/oauth-wg/draft-ietf-oauth-status-list):
- of 3 March 2024: section 4 / 4.1 (the 1-bit list) and section 9.1 (the 2-bit list);
- of 24 January 2025 (branch 216-test-vectors): appendix "Test vectors for Status List encoding",
  "2 bit Status List" (2^20 entries), its ``lst`` joined from the draft's wrapped lines.
"""

from __future__ import annotations

import base64
import itertools
import random
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sscard_issuer.credential.status_list import (
    INVALID,
    STATUS_LIST_TYP,
    SUSPENDED,
    VALID,
    ShardedIndex,
    StatusList,
    StatusListError,
    parse_status_reference,
    shard_uri,
    status_list_claims,
    status_reference,
)
from sscard_issuer.errors import FieldError


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# Section 4 and 4.1 (3 March 2024): 16 statuses, 1 bit each.
ONE_BIT_STATUSES = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
ONE_BIT_BYTES = bytes([0xB9, 0xA3])
ONE_BIT_LST = "eNrbuRgAAhcBXQ"

# Section 9.1 (3 March 2024): 12 statuses, 2 bits each.
TWO_BIT_STATUSES = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
TWO_BIT_BYTES = bytes([0xC9, 0x44, 0xF9])
TWO_BIT_LST = "eNo76fITAAPfAgc"

# Appendix "Test vectors for Status List encoding", 2 bit Status List (24 January 2025).
LONG_SIZE = 2**20
LONG_STATUSES = {
    0: 1, 1993: 2, 25460: 1, 159495: 3, 495669: 1, 554353: 1,
    645645: 2, 723232: 1, 854545: 1, 934534: 2, 1000345: 3,
}
LONG_LST = "".join([
    "eNrt2zENACEQAEEuoaBABP5VIO01fCjIHTMStt9ovGV",
    "IAAAAAABAbiEBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEB5WwIAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAID0ugQAAAAAAAAAAAAAAAAAQG12SgAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAOCSIQEAAAAAAAAAAAAAAAAAAAAAAAD8ExIAAAAAAAA",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwJEuAQAAAAAAAAAAAAAAAAAAAAAAAMB9S",
    "wIAAAAAAAAAAAAAAAAAAACoYUoAAAAAAAAAAAAAAEBqH81gAQw",
])


def filled(statuses: list[int], bits: int) -> StatusList:
    lst = StatusList(len(statuses), bits)
    for idx, value in enumerate(statuses):
        lst.set(idx, value)
    return lst


@pytest.mark.parametrize(
    ("statuses", "bits", "raw", "lst"),
    [(ONE_BIT_STATUSES, 1, ONE_BIT_BYTES, ONE_BIT_LST), (TWO_BIT_STATUSES, 2, TWO_BIT_BYTES, TWO_BIT_LST)],
    ids=["1-bit section 4.1", "2-bit section 9.1"],
)
def test_drafts_examples_encode_and_decode(statuses: list[int], bits: int, raw: bytes, lst: str) -> None:
    built = filled(statuses, bits)
    assert built.to_bytes() == raw  # least significant bits first
    assert built.encode() == lst
    decoded = StatusList.decode(lst, bits, max_size=1000)
    assert decoded.to_bytes() == raw and decoded.bits == bits
    assert [decoded.get(i) for i in range(len(statuses))] == statuses


def test_drafts_2_bit_test_vector_of_2_20_entries() -> None:
    decoded = StatusList.decode(LONG_LST, 2, max_size=LONG_SIZE)
    assert decoded.size == LONG_SIZE
    expected = StatusList(LONG_SIZE, 2)
    for idx, value in LONG_STATUSES.items():
        expected.set(idx, value)
        assert decoded.get(idx) == value
    assert decoded.to_bytes() == expected.to_bytes()  # and every other entry VALID
    assert StatusList.decode(expected.encode(), 2, max_size=LONG_SIZE).to_bytes() == expected.to_bytes()


def test_status_type_values_and_typ() -> None:
    assert (VALID, INVALID, SUSPENDED) == (0, 1, 2)
    assert STATUS_LIST_TYP == "statuslist+jwt"


# -- get and set --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_every_value_at_every_slot_leaves_neighbours_alone(bits: int) -> None:
    size = 3 * (8 // bits) + 1  # a partial last byte too
    lst = StatusList(size, bits)
    assert len(lst) == lst.size == size and len(lst.to_bytes()) == -(-size * bits // 8)
    for idx in range(size):
        for value in range(2**bits):
            lst.set(idx, value)
            assert lst.get(idx) == value
            assert all(lst.get(other) == 0 for other in range(size) if other != idx)
        lst.set(idx, 0)
    assert lst.to_bytes() == bytes(len(lst.to_bytes()))


@pytest.mark.parametrize("idx", [-1, 16, 10**12, True, "3", 2.0, None])
def test_index_out_of_bounds_or_not_an_int_is_refused(idx: Any) -> None:
    lst = StatusList(16, 2)
    for action in (lambda: lst.get(idx), lambda: lst.set(idx, 1)):
        with pytest.raises(StatusListError) as caught:
            action()
        assert caught.value.code == "index"


@pytest.mark.parametrize(("bits", "value"), [(1, 2), (2, 4), (4, 16), (8, 256), (2, -1), (2, True), (2, "1")])
def test_value_that_does_not_fit_is_refused(bits: int, value: Any) -> None:
    with pytest.raises(StatusListError) as caught:
        StatusList(8, bits).set(0, value)
    assert caught.value.code == "value"


@pytest.mark.parametrize("bits", [0, 3, 16, True, "2", None])
def test_bits_other_than_1_2_4_8_are_refused(bits: Any) -> None:
    with pytest.raises(StatusListError) as caught:
        StatusList(8, bits)
    assert caught.value.code == "bits"
    with pytest.raises(StatusListError) as caught:
        StatusList.decode(ONE_BIT_LST, bits, max_size=16)
    assert caught.value.code == "bits"


@pytest.mark.parametrize("size", [0, -5, True, 1.5])
def test_size_must_be_a_positive_integer(size: Any) -> None:
    with pytest.raises(FieldError) as caught:
        StatusList(size, 2)
    assert caught.value.field == "size"


def test_a_million_entries_round_trip() -> None:
    rng = random.Random(20240422)
    lst = StatusList(1_000_000, 2)
    changed = {rng.randrange(1_000_000): rng.choice([INVALID, SUSPENDED]) for _ in range(300)}
    for idx, value in changed.items():
        lst.set(idx, value)
    decoded = StatusList.decode(lst.encode(), 2, max_size=1_000_000)
    assert decoded.to_bytes() == lst.to_bytes()
    assert all(decoded.get(idx) == value for idx, value in changed.items())
    assert len(lst.encode()) < 10_000  # mostly VALID compresses to a few kilobytes


# -- decoding hostile input ---------------------------------------------------------------------------


def test_decompression_bomb_is_refused() -> None:
    bomb = b64(zlib.compress(bytes(50_000_000), 9))  # 50 MB of zeros in ~50 kB
    assert len(bomb) < 100_000
    with pytest.raises(StatusListError) as caught:
        StatusList.decode(bomb, 2, max_size=1_000_000)
    assert caught.value.code == "too_large"


def test_max_size_is_a_hard_limit() -> None:
    with pytest.raises(StatusListError) as caught:
        StatusList.decode(LONG_LST, 2, max_size=LONG_SIZE - 4)  # one byte short
    assert caught.value.code == "too_large"
    assert StatusList.decode(TWO_BIT_LST, 2, max_size=12).size == 12


@pytest.mark.parametrize(
    "lst",
    [
        "",
        ONE_BIT_LST + "==",  # padding
        "eNrb+RgAAhcBXQ",  # base64, not base64url
        "eNrbu",  # a length base64 cannot have
        b64(zlib.compress(ONE_BIT_BYTES)[:-3]),  # truncated
        b64(zlib.compress(ONE_BIT_BYTES) + b"junk"),  # bytes after the stream
        b64(zlib.compress(ONE_BIT_BYTES)[2:]),  # raw DEFLATE, no zlib header
        b64(b"not zlib at all"),
        b64(zlib.compress(b"")),  # no entry
    ],
)
def test_malformed_lst_is_refused(lst: str) -> None:
    with pytest.raises(StatusListError) as caught:
        StatusList.decode(lst, 1, max_size=1000)
    assert caught.value.code == "malformed"


@given(st.text(max_size=100), st.sampled_from([1, 2, 4, 8]))
def test_any_text_decodes_or_raises_the_typed_error(lst: str, bits: int) -> None:
    try:
        decoded = StatusList.decode(lst, bits, max_size=4096)
    except StatusListError:
        return
    assert 0 < decoded.size <= 4096 + 8


# -- tokens and references ----------------------------------------------------------------------------


def test_status_list_token_claims() -> None:
    lst = filled(ONE_BIT_STATUSES, 1)
    claims = status_list_claims(uri="https://ecard.example.cn/status/7", lst=lst, iat=1686920170,
                                exp=2291720170, ttl=43200)
    assert claims == {
        "sub": "https://ecard.example.cn/status/7",
        "iat": 1686920170,
        "exp": 2291720170,
        "ttl": 43200,
        "status_list": {"bits": 1, "lst": ONE_BIT_LST},
    }
    with_iss = status_list_claims(uri="u", lst=lst, iat=1, exp=2, ttl=1, iss="https://ecard.example.cn")
    assert with_iss["iss"] == "https://ecard.example.cn"


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"uri": ""}, "uri"), ({"ttl": 0}, "ttl"), ({"exp": 100}, "exp"), ({"iat": "now"}, "iat"), ({"lst": b"x"}, "lst")],
)
def test_status_list_token_claims_refuse_bad_arguments(changes: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"uri": "u", "lst": StatusList(8, 2), "iat": 100, "exp": 200, "ttl": 60}
    with pytest.raises(FieldError) as caught:
        status_list_claims(**{**arguments, **changes})
    assert caught.value.field == field


def test_status_reference_round_trip() -> None:
    claim = status_reference("https://ecard.example.cn/status/3", 4711)
    assert claim == {"status_list": {"idx": 4711, "uri": "https://ecard.example.cn/status/3"}}
    assert parse_status_reference({"iss": "x", "status": claim}) == ("https://ecard.example.cn/status/3", 4711)
    with pytest.raises(StatusListError) as caught:
        parse_status_reference({"iss": "x", **claim})  # spread into the claims instead of under "status"
    assert caught.value.code == "reference"


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"status": "x"},
        {"status": {}},
        {"status": {"status_list": {"uri": "u"}}},
        {"status": {"status_list": {"idx": 1}}},
        {"status": {"status_list": {"idx": -1, "uri": "u"}}},
        {"status": {"status_list": {"idx": True, "uri": "u"}}},
        {"status": {"status_list": {"idx": "1", "uri": "u"}}},
        {"status": {"status_list": {"idx": 1, "uri": ""}}},
        {"status_list": {"idx": 1, "uri": "u"}},  # not under "status"
        {"status": {"status_list": {"bits": 2, "lst": TWO_BIT_LST}}},  # a status list is not a reference
    ],
)
def test_bad_status_references_are_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(StatusListError) as caught:
        parse_status_reference(claims)
    assert caught.value.code == "reference"


def test_status_reference_refuses_bad_arguments() -> None:
    with pytest.raises(FieldError):
        status_reference("", 1)
    with pytest.raises(FieldError):
        status_reference("u", -1)


def test_shard_uri() -> None:
    assert shard_uri("https://ecard.example.cn/status", 0) == "https://ecard.example.cn/status/0"
    assert shard_uri("https://ecard.example.cn/status/", 999) == "https://ecard.example.cn/status/999"
    for shard in (-1, True, "1"):
        with pytest.raises(FieldError):
            shard_uri("https://ecard.example.cn/status", shard)  # type: ignore[arg-type]


# -- sharded random indices ---------------------------------------------------------------------------


def test_picks_are_random_not_sequential() -> None:
    index, rng = ShardedIndex(shards=4, shard_size=1024), random.Random(7)
    taken: set[tuple[int, int]] = set()
    picks = []
    for _ in range(400):
        pick = index.pick_index(taken, rng)
        assert pick not in taken and 0 <= pick[0] < 4 and 0 <= pick[1] < 1024
        taken.add(pick)
        picks.append(pick)
    flat = [shard * 1024 + idx for shard, idx in picks]
    assert flat != sorted(flat)  # issue order is not index order
    ascending = sum(1 for a, b in itertools.pairwise(flat) if b > a)
    assert 150 < ascending < 250  # about half, as for a random sequence
    per_shard = [sum(1 for shard, _ in picks if shard == s) for s in range(4)]
    assert min(per_shard) > 70  # every list gets its share (100 expected)


def test_full_shards_are_skipped() -> None:
    index, rng = ShardedIndex(shards=3, shard_size=8), random.Random(1)
    full = {(shard, idx) for shard in (0, 2) for idx in range(8)}
    picks = {index.pick_index(full, rng) for _ in range(50)}
    assert {shard for shard, _ in picks} == {1} and len(picks) > 4
    picks = {index.pick_index(lambda shard, idx: shard != 2, rng) for _ in range(50)}
    assert {shard for shard, _ in picks} == {2}


def test_open_shards_restrict_the_draw() -> None:
    index, rng = ShardedIndex(shards=1000, shard_size=10**6), random.Random(3)
    assert {index.pick_index(set(), rng, open_shards=[5, 9])[0] for _ in range(100)} == {5, 9}
    with pytest.raises(FieldError):
        index.pick_index(set(), rng, open_shards=[1000])
    with pytest.raises(FieldError):
        index.pick_index(set(), rng, open_shards=[])


def test_collisions_draw_again_then_give_up() -> None:
    index, rng = ShardedIndex(shards=2, shard_size=4, max_draws=10), random.Random(5)
    calls: list[tuple[int, int]] = []

    def taken_for_three_draws(shard: int, idx: int) -> bool:
        calls.append((shard, idx))
        return len(calls) <= 3

    assert index.pick_index(taken_for_three_draws, rng) == calls[-1] and len(calls) == 4
    calls.clear()

    def always_taken(shard: int, idx: int) -> bool:
        calls.append((shard, idx))
        return True

    with pytest.raises(StatusListError) as caught:
        index.pick_index(always_taken, rng)
    assert caught.value.code == "full" and len(calls) == 10
    everything = {(shard, idx) for shard in range(2) for idx in range(4)}
    with pytest.raises(StatusListError) as caught:
        index.pick_index(everything, rng)
    assert caught.value.code == "full"


def test_default_rng_is_the_system_one() -> None:
    shard, idx = ShardedIndex(shards=1000, shard_size=10**6).pick_index(set())
    assert 0 <= shard < 1000 and 0 <= idx < 10**6


@pytest.mark.parametrize("changes", [{"shards": 0}, {"shard_size": -1}, {"max_draws": 0}, {"shards": True}])
def test_sharded_index_refuses_bad_sizes(changes: dict[str, Any]) -> None:
    with pytest.raises(FieldError):
        ShardedIndex(**{"shards": 2, "shard_size": 8, **changes})
