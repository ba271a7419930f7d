"""MirrorAce's client against a simulator with an API host and a separate upload host, as the real service has.

Every chunk of a direct upload is judged by the simulator (fields, key, tracker, mirrors, Content-Range), which
keeps only a running sha256: a file arrived whole when that checksum equals the source's.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from sandbox.mirrorace import REMOTE_PATH, UPLOAD_PATH, MirrorAceSim
from sandbox.server import FaultKind
from sandbox.slack import file_pieces, file_sha256
from services.errors import VendorAuthError, VendorBadRequest, VendorUnavailable
from services.http import HttpPool, VendorHttp
from services.mirrorace import CHUNK_CAP, MirrorAce, choose_mirrors
from services.streams import SourceFailed

KIB = 1024


@pytest.fixture
async def sim() -> AsyncIterator[MirrorAceSim]:
    server = MirrorAceSim()
    await server.start()
    yield server
    await server.stop()


def client(sim: MirrorAceSim, pool: HttpPool, *, token: str | None = None, chunk_cap: int = CHUNK_CAP) -> MirrorAce:
    api_token = sim.api_token if token is None else token
    http = VendorHttp(
        vendor="MirrorAce",
        base_url=sim.api_url,
        pool=pool,
        timeout_s=2,
        backoff_s=0.01,
        secrets=(sim.api_key, api_token),
    )
    return MirrorAce(http, sim.api_key, api_token, chunk_cap=chunk_cap)


class Source:
    """A file's bytes in odd-sized pieces, as a download hands them over; each opening is a new download."""

    def __init__(self, file_id: str, size: int, piece: int = 10_007) -> None:
        self.file_id, self.size, self.piece = file_id, size, piece
        self.opened = 0

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncIterator[bytes]]:
        self.opened += 1
        yield self._pieces()

    async def _pieces(self) -> AsyncIterator[bytes]:
        for view in file_pieces(self.file_id, self.size, self.piece):
            yield bytes(view)


def source(file_id: str, size: int, piece: int = 10_007) -> Source:
    return Source(file_id, size, piece)


def ranges(sim: MirrorAceSim, upload_key: str) -> list[tuple[int, int, int]]:
    out = []
    for chunk in sim.accepted_chunks(upload_key):
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", chunk.content_range or "")
        assert match is not None, chunk.content_range
        start, end, total = (int(group) for group in match.groups())
        out.append((start, end, total))
    return out


# -- upload variables and mirrors ------------------------------------------------------------------------------


@pytest.mark.parametrize("as_strings", [True, False])
async def test_upload_variables_are_read_whether_numbers_come_as_strings_or_not(
    sim: MirrorAceSim, pool: HttpPool, as_strings: bool
) -> None:
    sim.numbers_as_strings = as_strings
    variables = await client(sim, pool).upload_variables()
    assert variables.max_chunk_size == 99_999_995 and variables.max_file_size == 10_737_418_240
    assert variables.max_mirrors == 3
    assert variables.server_file == sim.upload.url + "/api/v1/upload"  # another host than the API's
    assert variables.upload_key_expiry is not None
    second = await client(sim, pool).upload_variables()
    assert (second.upload_key, second.c_tracker) != (variables.upload_key, variables.c_tracker)


async def test_mirrors_are_the_ones_switched_on_defaults_first_at_most_max_mirrors(
    sim: MirrorAceSim, pool: HttpPool
) -> None:
    sim.max_mirrors = 2
    variables = await client(sim, pool).upload_variables()
    assert choose_mirrors(variables) == ["2", "1"]  # the account's defaults first, 4 is switched off
    assert choose_mirrors(variables, ["3", "1"]) == ["3", "1"]
    sim.max_mirrors = 3
    assert choose_mirrors(await client(sim, pool).upload_variables()) == ["2", "1", "3"]


@pytest.mark.parametrize(
    ("named", "message"),
    [
        (["9"], "has no mirror 9 (switched on: 2, 1, 3)"),
        (["1", "4"], "Mirror 4 is switched off"),
        (["1", "2", "3", "3", "1"], None),  # repeats count once
    ],
)
async def test_a_named_mirror_that_is_unknown_or_switched_off_is_a_clear_error_before_any_upload(
    sim: MirrorAceSim, pool: HttpPool, named: list[str], message: str | None
) -> None:
    ace = client(sim, pool)
    if message is None:
        uploaded = await ace.remote_upload("https://files.example/a.zip", mirrors=named)
        assert sim.files[uploaded.slug].mirrors == ["1", "2", "3"]
        return
    with pytest.raises(VendorBadRequest, match=re.escape(message)):
        await ace.upload("a.bin", 10, source("a", 10), mirrors=named)
    assert not sim.upload.calls


async def test_more_mirrors_than_allowed_are_refused(sim: MirrorAceSim, pool: HttpPool) -> None:
    sim.max_mirrors = 1
    with pytest.raises(VendorBadRequest, match="at most 1 mirrors a file, not 2"):
        await client(sim, pool).remote_upload("https://files.example/a.zip", mirrors=["1", "2"])
    assert not sim.upload.calls


# -- one request up to max_chunk_size, chunks beyond it ------------------------------------------------------------


async def test_a_file_of_max_chunk_size_goes_in_one_request_and_one_byte_more_in_chunks(
    sim: MirrorAceSim, pool: HttpPool
) -> None:
    sim.max_chunk_size = 64 * KIB
    ace = client(sim, pool)
    whole = await ace.upload("whole.bin", 64 * KIB, source("W", 64 * KIB))
    (only,) = sim.accepted_chunks()
    assert only.content_range is None and only.length == 64 * KIB  # one request, no Content-Range
    assert sim.files[whole.slug].sha256 == file_sha256("W", 64 * KIB) and sim.files[whole.slug].chunks == 1

    split = await ace.upload("split.bin", 64 * KIB + 1, source("S", 64 * KIB + 1))
    key = sim.accepted_chunks()[-1].upload_key
    assert ranges(sim, key) == [(0, 64 * KIB - 1, 64 * KIB + 1), (64 * KIB, 64 * KIB, 64 * KIB + 1)]
    assert sim.files[split.slug].sha256 == file_sha256("S", 64 * KIB + 1)
    assert not [c for c in sim.chunks if c.error]


async def post_to_upload_host(
    sim: MirrorAceSim,
    pool: HttpPool,
    size: int,
    content_range: str | None = None,
    *,
    key_and_tracker: tuple[str, str] | None = None,
) -> dict[str, object]:
    """A file of `size` bytes posted by hand to the upload host, with a fresh upload key unless one is given."""
    if key_and_tracker is None:
        variables = await client(sim, pool).upload_variables()
        key_and_tracker = (variables.upload_key, variables.c_tracker)
    upload_key, c_tracker = key_and_tracker
    form = aiohttp.FormData()
    for name, value in (
        ("api_key", sim.api_key),
        ("api_token", sim.api_token),
        ("cTracker", c_tracker),
        ("upload_key", upload_key),
        ("mirrors[]", "1"),
    ):
        form.add_field(name, value)
    form.add_field("files[]", b"x" * size, filename="a.bin")
    headers = {"Content-Range": content_range} if content_range else {}
    async with pool.session.post(sim.upload.url + UPLOAD_PATH, data=form, headers=headers) as resp:
        return dict(await resp.json())


async def test_the_simulator_refuses_chunks_of_a_small_file_and_a_single_request_over_the_limit(
    sim: MirrorAceSim, pool: HttpPool
) -> None:
    sim.max_chunk_size = 1000
    chunked = await post_to_upload_host(sim, pool, 500, "bytes 0-499/1000")
    assert chunked["status"] == "error" and "only for files larger than the maximum chunk size" in str(chunked)
    whole = await post_to_upload_host(sim, pool, 1001)
    assert whole["status"] == "error" and "single request may not upload more than" in str(whole)
    assert (await post_to_upload_host(sim, pool, 1000))["status"] == "success"
    assert (await post_to_upload_host(sim, pool, 1000, "bytes 0-999/1001"))["status"] == "success"


async def test_a_file_sent_whole_streams_with_progress_and_a_resend_downloads_it_again(
    sim: MirrorAceSim, pool: HttpPool
) -> None:
    size = 300 * KIB  # under MirrorAce's own limit (about 95 MiB): one request
    seen: list[int] = []

    async def progress(done: int) -> None:
        seen.append(done)

    sim.upload.faults.inject(UPLOAD_PATH, "reset")
    opened = source("R", size)
    uploaded = await client(sim, pool).upload("r.bin", size, opened, progress=progress)
    assert sim.files[uploaded.slug].sha256 == file_sha256("R", size)
    assert len(sim.upload.calls) == 2 and opened.opened == 2  # the resend read the file from the start again
    assert seen[-1] == size and len([done for done in seen if done < size]) >= 10  # shown as the bytes go out
    (accepted,) = sim.accepted_chunks()
    assert accepted.content_range is None and accepted.length == size


async def test_a_source_that_ends_early_or_runs_long_never_completes_a_file_sent_whole(
    sim: MirrorAceSim, pool: HttpPool
) -> None:
    short = source("F7", 50_000)
    with pytest.raises(SourceFailed, match="ended after 50000 bytes"):
        await client(sim, pool).upload("a.bin", 60_000, short)
    assert short.opened == 2  # tried again once, downloading afresh
    with pytest.raises(SourceFailed, match="longer than its announced size"):
        await client(sim, pool).upload("b.bin", 40_000, source("F7", 40_001))
    assert not sim.files and not sim.accepted_chunks()


# -- direct uploads in chunks ------------------------------------------------------------------------------------


async def test_a_file_of_max_file_size_is_refused_before_a_byte_is_sent(sim: MirrorAceSim, pool: HttpPool) -> None:
    sim.max_file_size = 5000
    watched = source("big", 5000)
    with pytest.raises(VendorBadRequest, match="5,000 bytes; MirrorAce takes files under 5,000 bytes"):
        await client(sim, pool).upload("big.bin", 5000, watched)
    assert not watched.opened and not sim.upload.calls


async def test_a_file_spanning_many_chunks_arrives_whole_every_chunk_complete_and_in_order(
    sim: MirrorAceSim, pool: HttpPool
) -> None:
    sim.max_chunk_size = 64 * KIB
    size = 11 * 64 * KIB + 4321  # 12 chunks, the last one short
    seen: list[int] = []

    async def progress(done: int) -> None:
        seen.append(done)

    uploaded = await client(sim, pool).upload(
        "report.bin", size, source("F1", size), password="pa55word", mirrors=["1", "3"], progress=progress
    )
    stored = sim.files[uploaded.slug]
    assert stored.sha256 == file_sha256("F1", size)
    assert (stored.name, stored.size, stored.chunks, stored.password) == ("report.bin", size, 12, "pa55word")
    assert uploaded.url == stored.url and uploaded.size == size

    chunks = sim.accepted_chunks()
    assert len(chunks) == 12 and not [c for c in sim.chunks if c.error]
    key = chunks[0].upload_key
    spans = ranges(sim, key)
    assert spans[0][0] == 0 and spans[-1][1] == size - 1
    for (_, end, total), (next_start, _, _) in itertools.pairwise(spans):
        assert next_start == end + 1 and total == size  # contiguous, END inclusive
    for chunk, (start, end, _) in zip(chunks, spans, strict=True):
        assert chunk.length == end - start + 1 <= 64 * KIB
        assert chunk.upload_key == key and chunk.c_tracker == chunks[0].c_tracker
        assert chunk.fields["mirrors[]"] == ["1", "3"] and chunk.fields["file_password"] == "pa55word"
        assert chunk.filename == "report.bin"
    for call in sim.upload.calls:
        assert int(call.headers["Content-Length"]) > 0  # a known length, not chunked transfer
    assert seen == [end + 1 for _, end, _ in spans]


async def test_chunks_stay_within_cohosts_own_cap_where_mirrorace_allows_more(
    sim: MirrorAceSim, pool: HttpPool
) -> None:
    sim.max_chunk_size = 64 * KIB
    size = 100 * KIB
    uploaded = await client(sim, pool, chunk_cap=16 * KIB).upload("a.bin", size, source("F2", size))
    assert sim.files[uploaded.slug].sha256 == file_sha256("F2", size)
    assert [c.length for c in sim.accepted_chunks()] == [16 * KIB] * 6 + [4 * KIB]


async def test_each_file_gets_a_fresh_upload_key_and_a_used_key_is_refused(sim: MirrorAceSim, pool: HttpPool) -> None:
    ace = client(sim, pool)
    first = await ace.upload("a.bin", 300, source("A", 300))
    second = await ace.upload("b.bin", 300, source("B", 300))
    keys = {c.upload_key for c in sim.accepted_chunks()}
    assert len(keys) == 2 and first.slug != second.slug

    # Sending again with a finished file's key and tracker: the simulator refuses, as MirrorAce does.
    used = sim.accepted_chunks()[0]
    again = await post_to_upload_host(sim, pool, 10, key_and_tracker=(used.upload_key, used.c_tracker))
    assert again == {"status": "error", "result": "Upload key has already been used."}


@pytest.mark.parametrize("fault", ["500", "reset", "html"])
async def test_a_failed_chunk_is_retried_once_and_the_file_still_arrives_whole(
    sim: MirrorAceSim, pool: HttpPool, fault: FaultKind
) -> None:
    sim.max_chunk_size = 32 * KIB
    size = 100 * KIB
    sim.upload.faults.inject(UPLOAD_PATH, fault)
    uploaded = await client(sim, pool).upload("a.bin", size, source("F3", size))
    assert sim.files[uploaded.slug].sha256 == file_sha256("F3", size)
    assert len(sim.upload.calls) == 4 + 1  # four chunks, the first sent twice


async def test_a_chunk_failing_twice_is_reported_naming_mirrorace(sim: MirrorAceSim, pool: HttpPool) -> None:
    sim.max_chunk_size = 32 * KIB
    size = 100 * KIB
    sim.upload.faults.inject(UPLOAD_PATH, "500", times=2)
    with pytest.raises(VendorUnavailable, match="MirrorAce had an internal error") as caught:
        await client(sim, pool).upload("a.bin", size, source("F4", size))
    assert caught.value.vendor == "MirrorAce"
    assert len(sim.upload.calls) == 2 and not sim.files


async def test_a_refused_chunk_is_not_retried_and_says_why(sim: MirrorAceSim, pool: HttpPool) -> None:
    sim.max_chunk_size = 32 * KIB
    size = 100 * KIB

    async def switch_a_mirror_off(done: int) -> None:
        sim.mirrors["2"] = False  # the account's owner switches mirror 2 off after the first chunk

    with pytest.raises(VendorBadRequest, match=r"^Invalid mirror\(s\) selected\.$"):
        await client(sim, pool).upload(
            "a.bin", size, source("F5", size), mirrors=["1", "2"], progress=switch_a_mirror_off
        )
    assert len(sim.upload.calls) == 2  # the refused second chunk was not sent again


async def test_a_source_that_ends_early_never_completes_a_file(sim: MirrorAceSim, pool: HttpPool) -> None:
    sim.max_chunk_size = 32 * KIB
    with pytest.raises(SourceFailed, match="ended after 50000 bytes"):
        await client(sim, pool).upload("a.bin", 100 * KIB, source("F6", 50_000))
    assert not sim.files

    with pytest.raises(SourceFailed, match="longer than its announced size"):
        await client(sim, pool).upload("b.bin", 40 * KIB, source("F6", 41 * KIB))
    assert not sim.files  # the last chunk was never sent


# -- remote uploads, file info, credentials ---------------------------------------------------------------------------


async def test_a_remote_upload_sends_every_field_to_the_upload_host(sim: MirrorAceSim, pool: HttpPool) -> None:
    sim.remote_sizes["https://files.example/Space%20Man.jpg"] = 35892
    uploaded = await client(sim, pool).remote_upload("https://files.example/Space%20Man.jpg", password="s3cret")
    assert (uploaded.name, uploaded.size) == ("Space Man.jpg", 35892)
    stored = sim.files[uploaded.slug]
    assert stored.remote_url == "https://files.example/Space%20Man.jpg" and stored.password == "s3cret"
    assert stored.mirrors == ["2", "1", "3"]
    assert [c.path for c in sim.upload.calls] == [REMOTE_PATH] and not sim.calls_to(REMOTE_PATH)


@pytest.mark.parametrize("url", ["ftp://files.example/a.zip", "file:///etc/passwd", "files.example/a.zip"])
async def test_only_web_addresses_are_sent_for_remote_upload(sim: MirrorAceSim, pool: HttpPool, url: str) -> None:
    with pytest.raises(VendorBadRequest, match="only http:// and https://"):
        await client(sim, pool).remote_upload(url)
    assert not sim.calls and not sim.upload.calls


async def test_mirrorace_refusing_a_remote_url_gives_its_own_reason(sim: MirrorAceSim, pool: HttpPool) -> None:
    sim.unreachable.add("gone.example")
    with pytest.raises(VendorBadRequest, match="Could not download the file from the remote URL"):
        await client(sim, pool).remote_upload("https://gone.example/a.zip")


async def test_file_info_goes_in_batches_of_50_and_flags_removed_files(sim: MirrorAceSim, pool: HttpPool) -> None:
    slugs = [sim.add_file(f"file{i}.bin", 1000 + i) for i in range(118)]
    sim.files[slugs[3]].status = "user removed"
    sim.files[slugs[70]].status = "copyright removed"
    infos = await client(sim, pool).file_info([*slugs, "nope", slugs[0]])
    assert [c.path for c in sim.calls] == ["/api/v1/file/info"] * 3  # 119 distinct slugs: 50 + 50 + 19
    assert [info.slug for info in infos] == [*slugs, "nope"]
    assert infos[0].name == "file0.bin" and infos[0].size == 1000 and infos[0].url == sim.files[slugs[0]].url
    assert [info.slug for info in infos if info.removed] == [slugs[3], slugs[70]]
    missing = infos[-1]
    assert (missing.status, missing.name, missing.size, missing.url) == ("not found", None, None, None)


async def test_refused_credentials_are_an_auth_error_without_the_token(sim: MirrorAceSim, pool: HttpPool) -> None:
    with pytest.raises(VendorAuthError, match="Invalid API key or API token") as caught:
        await client(sim, pool, token="ma-wrong-token-0000").file_info(["abc"])
    assert "ma-wrong-token-0000" not in str(caught.value)


async def test_an_unreachable_mirrorace_is_a_typed_error_naming_it(pool: HttpPool) -> None:
    http = VendorHttp(vendor="MirrorAce", base_url="http://127.0.0.1:9/api/v1", pool=pool, timeout_s=1, retries=0)
    with pytest.raises(VendorUnavailable, match="MirrorAce could not be reached"):
        await MirrorAce(http, "k", "t").file_info(["abc"])
