"""The Cloudflare DNS API stand-in over HTTP: routes, the v4 envelope, every error code, filters and pages,
names, TXT and MX forms, PUT versus PATCH, auth, counters."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox import DEFAULT_CLOUDFLARE_TOKEN, DEFAULT_CLOUDFLARE_ZONE_ID
from sandbox.testing import ManualClock, SandboxServer

ZONE = DEFAULT_CLOUDFLARE_ZONE_ID
RECORDS = f"zones/{ZONE}/dns_records"
OTHER_TOKEN = "another-cloudflare-token-for-the-sandbox-tests"
ID = re.compile(r"^[0-9a-f]{32}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

Create = Callable[..., dict[str, Any]]


@pytest.fixture
def cf(timed: SandboxServer) -> Iterator[httpx.Client]:
    """A client of the Cloudflare stand-in of the timed sandbox, with the dev token."""
    with timed.cloudflare_client() as client:
        yield client


@pytest.fixture
def create(cf: httpx.Client) -> Create:
    """Create a record in the dev zone (TXT by default) and return the ``result``."""

    def _create(**fields: Any) -> dict[str, Any]:
        body = {"type": "TXT", "ttl": 1, "proxied": False, **fields}
        response = cf.post(RECORDS, json=body)
        assert response.status_code == 200, response.text
        result = response.json()["result"]
        assert isinstance(result, dict)
        return result

    return _create


def _errors(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert body["success"] is False
    assert body["result"] is None
    assert body["messages"] == []
    errors = body["errors"]
    assert isinstance(errors, list)
    return errors


def _codes(response: httpx.Response) -> list[int]:
    return [item["code"] for item in _errors(response)]


def _chain(response: httpx.Response) -> list[int]:
    [item] = _errors(response)
    return [link["code"] for link in item.get("error_chain", [])]


# -- create, read, the envelope -------------------------------------------------------------------------


def test_create_answers_the_record_in_the_envelope(cf: httpx.Client) -> None:
    body = {"type": "TXT", "name": "_dmarc.a", "content": '"v=DMARC1; p=none;"', "ttl": 1, "proxied": False}

    response = cf.post(RECORDS, json=body)

    assert response.status_code == 200
    envelope = response.json()
    assert list(envelope) == ["result", "success", "errors", "messages"]
    assert (envelope["success"], envelope["errors"], envelope["messages"]) == (True, [], [])
    record = envelope["result"]
    assert ID.match(record["id"])
    assert {key: record[key] for key in ("name", "type", "content", "proxiable", "proxied", "ttl")} == {
        "name": "_dmarc.a.example.com",
        "type": "TXT",
        "content": '"v=DMARC1; p=none;"',
        "proxiable": False,
        "proxied": False,
        "ttl": 1,
    }
    assert (record["settings"], record["meta"], record["comment"], record["tags"]) == ({}, {}, None, [])
    assert TIMESTAMP.match(record["created_on"]) and record["modified_on"] == record["created_on"]
    assert "priority" not in record
    assert "comment_modified_on" not in record and "tags_modified_on" not in record


def test_get_answers_what_create_stored(cf: httpx.Client, create: Create) -> None:
    created = create(name="send", content='"v=spf1 include:amazonses.com ~all"', comment="spf", tags=["a:b"])

    response = cf.get(f"{RECORDS}/{created['id']}")

    assert response.status_code == 200
    assert response.json()["result"] == created
    assert created["comment_modified_on"] == created["tags_modified_on"] == created["created_on"]


def test_ids_are_32_hex_digits_and_differ(create: Create) -> None:
    ids = {create(name=f"n{i}", content=f'"{i}"')["id"] for i in range(5)}

    assert len(ids) == 5
    assert all(ID.match(record_id) for record_id in ids)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("@", "example.com"),
        ("example.com", "example.com"),
        ("send", "send.example.com"),
        ("resend._domainkey.agents", "resend._domainkey.agents.example.com"),
        ("Send.Example.COM", "send.example.com"),
        ("send.example.com.", "send.example.com"),
        ("*.wild", "*.wild.example.com"),
        ("send.other.com", "send.other.com.example.com"),  # relative: the zone is appended
        ("bücher", "xn--bcher-kva.example.com"),
    ],
)
def test_names_are_answered_fully_qualified(create: Create, sent: str, stored: str) -> None:
    assert create(name=sent, content='"x"')["name"] == stored


@pytest.mark.parametrize("name", ["send.other.com.", "bad name", "a..b", "-bad", "x" * 64, ""])
def test_a_name_outside_the_zone_or_malformed_is_refused(cf: httpx.Client, name: str) -> None:
    response = cf.post(RECORDS, json={"type": "TXT", "name": name, "content": '"x"', "ttl": 1})

    assert response.status_code == 400
    assert _codes(response) == [1004]
    assert _errors(response)[0]["message"] == "DNS Validation Error"


# -- TXT and MX forms -----------------------------------------------------------------------------------


def test_quoted_txt_round_trips(cf: httpx.Client, create: Create) -> None:
    content = '"v=spf1 include:amazonses.com ~all"'
    created = create(name="send", content=content)

    assert created["content"] == content
    assert cf.get(f"{RECORDS}/{created['id']}").json()["result"]["content"] == content


def test_unquoted_txt_is_stored_as_sent(cf: httpx.Client, create: Create) -> None:
    created = create(name="_dmarc", content="v=DMARC1; p=none;")

    assert cf.get(f"{RECORDS}/{created['id']}").json()["result"]["content"] == "v=DMARC1; p=none;"


def test_a_long_quoted_txt_comes_back_split_in_255_byte_chunks_on_read(
    cf: httpx.Client, create: Create
) -> None:
    text = "p=" + "A" * 298
    created = create(name="long._domainkey", content=f'"{text}"')

    read = cf.get(f"{RECORDS}/{created['id']}").json()["result"]["content"]

    assert created["content"] == f'"{text}"'  # the create answer echoes the request (the plugin stores it)
    assert read == f'"{text[:255]}" "{text[255:]}"'  # what a refresh then sees: drift


def test_already_split_txt_round_trips(cf: httpx.Client, create: Create) -> None:
    text = "p=" + "B" * 400
    content = f'"{text[:255]}" "{text[255:]}"'
    created = create(name="split", content=content)

    assert cf.get(f"{RECORDS}/{created['id']}").json()["result"]["content"] == content


def test_mx_is_read_back_lowercase_without_trailing_dot(cf: httpx.Client, create: Create) -> None:
    created = create(type="MX", name="send", content="Feedback-SMTP.us-east-1.AmazonSES.com.", priority=10)

    read = cf.get(f"{RECORDS}/{created['id']}").json()["result"]

    assert created["content"] == "Feedback-SMTP.us-east-1.AmazonSES.com."
    assert (read["content"], read["priority"], read["proxiable"]) == (
        "feedback-smtp.us-east-1.amazonses.com",
        10,
        False,
    )


def test_mx_needs_a_priority_in_range(cf: httpx.Client) -> None:
    base = {"type": "MX", "name": "send", "content": "mx.example.net", "ttl": 1}

    missing = cf.post(RECORDS, json=base)
    too_big = cf.post(RECORDS, json={**base, "priority": 65536})

    assert (missing.status_code, _codes(missing), _chain(missing)) == (400, [1004], [1004])
    assert (too_big.status_code, _codes(too_big)) == (400, [1004])


@pytest.mark.parametrize("content", ["", "not a host", "a..b"])
def test_bad_contents_are_refused(cf: httpx.Client, content: str) -> None:
    record_type = "TXT" if content == "" else "MX"
    body = {"type": record_type, "name": "x", "content": content, "ttl": 1, "priority": 10}

    response = cf.post(RECORDS, json=body)

    assert (response.status_code, _codes(response)) == (400, [1004])


def test_cname_is_proxiable_and_lowercased(cf: httpx.Client, create: Create) -> None:
    created = create(type="CNAME", name="abc._domainkey", content="ABC.dkim.amazonses.com.")
    read = cf.get(f"{RECORDS}/{created['id']}").json()["result"]

    assert (read["content"], read["proxiable"], read["proxied"]) == ("abc.dkim.amazonses.com", True, False)
    assert "settings" not in read  # omitted for a non-proxied CNAME, as the provider expects


# -- TTL, proxied, body ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ttl", [1, 30, 300, 86400])
def test_valid_ttls(create: Create, ttl: int) -> None:
    assert create(name="t", content='"x"', ttl=ttl)["ttl"] == ttl


def test_ttl_defaults_to_automatic(cf: httpx.Client) -> None:
    response = cf.post(RECORDS, json={"type": "TXT", "name": "t", "content": '"x"'})

    assert response.json()["result"]["ttl"] == 1


@pytest.mark.parametrize("ttl", [0, 2, 29, 86401, 60.5, -1])
def test_ttl_out_of_bounds_is_9021(cf: httpx.Client, ttl: float) -> None:
    response = cf.post(RECORDS, json={"type": "TXT", "name": "t", "content": '"x"', "ttl": ttl})

    assert response.status_code == 400
    [error] = _errors(response)
    assert (error["code"], error["message"]) == (1004, "DNS Validation Error")
    assert error["error_chain"] == [
        {"code": 9021, "message": "TTL must be between 30 and 86400 seconds, or 1 for Automatic."}
    ]


@pytest.mark.parametrize("record_type", ["TXT", "MX"])
def test_txt_and_mx_cannot_be_proxied(cf: httpx.Client, record_type: str) -> None:
    body = {"type": record_type, "name": "p", "content": "mx.example.net", "ttl": 1, "proxied": True}

    response = cf.post(RECORDS, json={**body, "priority": 10})

    assert (response.status_code, _codes(response), _chain(response)) == (400, [1004], [9004])


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"type": "TXT", "content": "\\"x\\"", "ttl": 1}',  # no name
        b'{"type": "TXT", "name": "x", "ttl": 1}',  # no content
        b'{"name": "x", "content": "\\"x\\"", "ttl": 1}',  # no type
        b'{"type": "TXT", "name": "x", "content": "\\"x\\"", "ttl": "1"}',
        b'{"type": "TXT", "name": "x", "content": "\\"x\\"", "proxied": "no"}',
        b'{"type": "TXT", "name": "x", "content": "\\"x\\"", "tags": "a"}',
        b'{"type": "TXT", "name": "x", "content": "\\"x\\"", "comment": 5}',
    ],
)
def test_an_invalid_body_is_9207(cf: httpx.Client, body: bytes) -> None:
    response = cf.post(RECORDS, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert _codes(response) == [9207]
    assert _errors(response)[0]["message"] == "Request body is invalid."


@pytest.mark.parametrize(("record_type", "word"), [("A", "stores CNAME, MX and TXT"), ("BOGUS", "Invalid")])
def test_types_the_sandbox_does_not_store_are_refused(cf: httpx.Client, record_type: str, word: str) -> None:
    response = cf.post(RECORDS, json={"type": record_type, "name": "x", "content": "1.2.3.4", "ttl": 1})

    assert (response.status_code, _codes(response)) == (400, [1004])
    assert word in _errors(response)[0]["error_chain"][0]["message"]


# -- identical records, conflicts -----------------------------------------------------------------------


def test_an_identical_record_is_81058(cf: httpx.Client, create: Create) -> None:
    create(name="send", content='"v=spf1 ~all"', ttl=300)

    again = cf.post(RECORDS, json={"type": "TXT", "name": "send.example.com", "content": '"v=spf1 ~all"'})

    assert again.status_code == 400
    assert _errors(again) == [{"code": 81058, "message": "An identical record already exists."}]


def test_same_name_and_type_with_another_value_is_allowed(create: Create) -> None:
    create(name="send", content='"one"')
    create(name="send", content='"two"')
    create(type="MX", name="send", content="mx.example.net", priority=10)
    create(type="MX", name="send", content="mx.example.net", priority=20)


def test_updating_into_another_records_data_is_81058(cf: httpx.Client, create: Create) -> None:
    first = create(name="send", content='"one"')
    second = create(name="send", content='"two"')

    put = cf.put(f"{RECORDS}/{second['id']}", json={"type": "TXT", "name": "send", "content": '"one"'})
    patch = cf.patch(f"{RECORDS}/{second['id']}", json={"content": '"one"'})
    itself = cf.patch(f"{RECORDS}/{first['id']}", json={"content": '"one"', "ttl": 300})

    assert (put.status_code, _codes(put)) == (400, [81058])
    assert (patch.status_code, _codes(patch)) == (400, [81058])
    assert itself.status_code == 200


def test_a_second_cname_at_a_name_is_81053(cf: httpx.Client, create: Create) -> None:
    create(type="CNAME", name="www", content="a.example.net")

    response = cf.post(RECORDS, json={"type": "CNAME", "name": "www", "content": "b.example.net", "ttl": 1})

    assert (response.status_code, _codes(response)) == (400, [81053])


# -- PUT, PATCH, DELETE ---------------------------------------------------------------------------------


def test_patch_changes_only_the_fields_given(cf: httpx.Client, create: Create, clock: ManualClock) -> None:
    created = create(type="MX", name="send", content="a.example.net", priority=10, comment="mx", tags=["x:y"])
    clock.advance(5)

    response = cf.patch(f"{RECORDS}/{created['id']}", json={"content": "b.example.net"})

    assert response.status_code == 200
    patched = response.json()["result"]
    assert (patched["content"], patched["priority"], patched["comment"], patched["tags"]) == (
        "b.example.net",
        10,
        "mx",
        ["x:y"],
    )
    assert patched["created_on"] == created["created_on"]
    assert patched["modified_on"] > created["modified_on"]
    assert patched["comment_modified_on"] == created["comment_modified_on"]  # the comment did not change


def test_put_replaces_the_whole_record(cf: httpx.Client, create: Create, clock: ManualClock) -> None:
    created = create(name="send", content='"one"', comment="note", tags=["x:y"], ttl=300)
    clock.advance(5)

    response = cf.put(f"{RECORDS}/{created['id']}", json={"type": "TXT", "name": "send", "content": '"two"'})

    assert response.status_code == 200
    replaced = response.json()["result"]
    assert (replaced["id"], replaced["content"], replaced["ttl"]) == (created["id"], '"two"', 1)
    assert (replaced["comment"], replaced["tags"]) == (None, [])  # absent fields are back to their defaults
    assert "comment_modified_on" not in replaced and "tags_modified_on" not in replaced
    assert cf.get(f"{RECORDS}/{created['id']}").json()["result"] == replaced


def test_put_with_null_comment_removes_it_as_the_provider_sends_it(cf: httpx.Client, create: Create) -> None:
    created = create(name="send", content='"one"', comment="note")
    body = {"type": "TXT", "name": "send.example.com", "content": '"one"', "ttl": 1, "comment": None}

    response = cf.put(f"{RECORDS}/{created['id']}", json=body)

    assert response.json()["result"]["comment"] is None


def test_put_needs_the_whole_record(cf: httpx.Client, create: Create) -> None:
    created = create(name="send", content='"one"')

    response = cf.put(f"{RECORDS}/{created['id']}", json={"content": '"two"'})

    assert (response.status_code, _codes(response)) == (400, [9207])


def test_patch_can_rename_into_fqdn(cf: httpx.Client, create: Create) -> None:
    created = create(name="send", content='"one"')

    response = cf.patch(f"{RECORDS}/{created['id']}", json={"name": "bounce"})

    assert response.json()["result"]["name"] == "bounce.example.com"


def test_delete_answers_the_id_and_the_record_is_gone(cf: httpx.Client, create: Create) -> None:
    created = create(name="send", content='"one"')

    deleted = cf.delete(f"{RECORDS}/{created['id']}")
    read = cf.get(f"{RECORDS}/{created['id']}")
    again = cf.delete(f"{RECORDS}/{created['id']}")

    assert deleted.status_code == 200
    assert deleted.json() == {"result": {"id": created["id"]}, "success": True, "errors": [], "messages": []}
    assert read.status_code == 404
    assert _errors(read) == [{"code": 81044, "message": "Record does not exist."}]
    assert (again.status_code, _codes(again)) == (404, [81044])


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_missing_record_is_81044(cf: httpx.Client, method: str) -> None:
    body = {"type": "TXT", "name": "x", "content": '"x"'} if method in ("PUT", "PATCH") else None

    response = cf.request(method, f"{RECORDS}/{'0' * 32}", json=body)

    assert (response.status_code, _codes(response)) == (404, [81044])


def test_a_record_of_another_zone_is_81044(timed: SandboxServer, cf: httpx.Client, create: Create) -> None:
    other = timed.add_cloudflare_zone("1" * 32, "acme.com")
    created = create(name="send", content='"one"')

    response = cf.get(f"zones/{other['id']}/dns_records/{created['id']}")

    assert (response.status_code, _codes(response)) == (404, [81044])


def test_a_malformed_record_id_is_7003(cf: httpx.Client) -> None:
    response = cf.get(f"{RECORDS}/not-an-id")

    assert response.status_code == 400
    assert _codes(response) == [7003, 7000]
    assert _errors(response)[0]["message"] == (
        f"Could not route to /client/v4/{RECORDS}/not-an-id, perhaps your object identifier is invalid?"
    )


# -- zones ----------------------------------------------------------------------------------------------


def test_an_unknown_zone_is_10000_and_a_malformed_one_7003(cf: httpx.Client) -> None:
    unknown = cf.get(f"zones/{'f' * 32}/dns_records")
    created = cf.post(f"zones/{'f' * 32}/dns_records", json={"type": "TXT", "name": "x", "content": '"x"'})
    malformed = cf.get("zones/example.com/dns_records")

    assert unknown.status_code == created.status_code == 403
    assert _errors(unknown) == [{"code": 10000, "message": "Authentication error"}]
    assert (malformed.status_code, _codes(malformed)) == (400, [7003, 7000])


def test_zones_are_listed_and_read(timed: SandboxServer, cf: httpx.Client) -> None:
    timed.add_cloudflare_zone("2" * 32, "acme.com")

    listed = cf.get("zones").json()
    by_name = cf.get("zones", params={"name": "acme.com"}).json()
    one = cf.get(f"zones/{ZONE}").json()["result"]

    assert [zone["name"] for zone in listed["result"]] == ["example.com", "acme.com"]
    assert listed["result_info"] == {
        "page": 1,
        "per_page": 20,
        "count": 2,
        "total_count": 2,
        "total_pages": 1,
    }
    assert [zone["id"] for zone in by_name["result"]] == ["2" * 32]
    assert (one["id"], one["name"], one["status"]) == (ZONE, "example.com", "active")
    assert one["name_servers"] == ["ns1.dns.sandbox.test", "ns2.dns.sandbox.test"]


# -- lists: filters and pages ---------------------------------------------------------------------------


def _names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [record["name"] for record in response.json()["result"]]


@pytest.fixture
def listed(create: Create) -> None:
    create(name="send", content='"v=spf1 include:amazonses.com ~all"', comment="SPF record")
    create(type="MX", name="send", content="feedback-smtp.us-east-1.amazonses.com", priority=10)
    create(name="_dmarc", content='"v=DMARC1; p=none;"')
    create(type="MX", name="@", content="inbound-smtp.us-east-1.amazonaws.com", priority=10)
    create(name="resend._domainkey", content='"p=MIGf"', comment="dkim")


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "send.example.com"}, ["send.example.com", "send.example.com"]),
        ({"name.exact": "SEND.example.com", "type": "MX"}, ["send.example.com"]),
        ({"name.contains": "domainkey"}, ["resend._domainkey.example.com"]),
        ({"name.startswith": "_dm"}, ["_dmarc.example.com"]),
        ({"name.endswith": "example.com", "type": "mx"}, ["example.com", "send.example.com"]),
        ({"type": "TXT", "content": '"v=DMARC1; p=none;"'}, ["_dmarc.example.com"]),
        ({"content.exact": '"V=DMARC1; P=NONE;"'}, ["_dmarc.example.com"]),
        ({"content.contains": "amazonses"}, ["send.example.com", "send.example.com"]),
        ({"comment.present": "1"}, ["resend._domainkey.example.com", "send.example.com"]),
        ({"comment.absent": "1", "type": "TXT"}, ["_dmarc.example.com"]),
        ({"comment.exact": "dkim"}, ["resend._domainkey.example.com"]),
        ({"search": "dmarc"}, ["_dmarc.example.com"]),
        (
            {"name": "_dmarc.example.com", "content": '"p=MIGf"', "match": "any"},
            [
                "_dmarc.example.com",
                "resend._domainkey.example.com",
            ],
        ),
        ({"name": "nothing.example.com"}, []),
        ({"proxied": "true"}, []),
    ],
)
def test_list_filters_as_cloudflare_go_sends_them(
    cf: httpx.Client, params: dict[str, str], expected: list[str]
) -> None:
    assert sorted(_names(cf.get(RECORDS, params=params))) == sorted(expected)


@pytest.mark.usefixtures("listed")
def test_list_order_and_direction(cf: httpx.Client) -> None:
    ascending = _names(cf.get(RECORDS, params={"order": "name", "type": "TXT"}))
    descending = _names(cf.get(RECORDS, params={"order": "name", "direction": "desc", "type": "TXT"}))

    assert ascending == ["_dmarc.example.com", "resend._domainkey.example.com", "send.example.com"]
    assert descending == list(reversed(ascending))


def test_list_pages(cf: httpx.Client, create: Create) -> None:
    for index in range(12):
        create(name=f"r{index:02d}", content=f'"{index}"')

    pages = [
        cf.get(RECORDS, params={"per_page": 5, "page": page, "order": "name"}).json() for page in (1, 2, 3, 4)
    ]

    assert [len(page["result"]) for page in pages] == [5, 5, 2, 0]
    assert [page["result_info"] for page in pages] == [
        {"page": number, "per_page": 5, "count": count, "total_count": 12, "total_pages": 3}
        for number, count in ((1, 5), (2, 5), (3, 2), (4, 0))
    ]
    names = [record["name"] for page in pages for record in page["result"]]
    assert names == [f"r{index:02d}.example.com" for index in range(12)]


def test_list_defaults_and_clamps_per_page(cf: httpx.Client, create: Create) -> None:
    create(name="one", content='"1"')

    default = cf.get(RECORDS).json()["result_info"]
    tiny = cf.get(RECORDS, params={"per_page": 1}).json()["result_info"]

    assert default == {"page": 1, "per_page": 100, "count": 1, "total_count": 1, "total_pages": 1}
    assert tiny["per_page"] == 5


def test_an_empty_zone_lists_nothing(cf: httpx.Client) -> None:
    body = cf.get(RECORDS).json()

    assert body["result"] == []
    assert body["result_info"] == {"page": 1, "per_page": 100, "count": 0, "total_count": 0, "total_pages": 1}


# -- auth -----------------------------------------------------------------------------------------------


def test_the_dev_token_matches_what_the_plugin_accepts() -> None:
    assert re.fullmatch(r"[0-9A-Za-z_-]{40,80}", DEFAULT_CLOUDFLARE_TOKEN)


@pytest.mark.parametrize(
    ("headers", "status", "codes"),
    [
        ({}, 400, [9106]),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 400, [6003]),
        ({"Authorization": "Bearer"}, 400, [6003]),
        ({"Authorization": "Bearer not a token"}, 400, [6003]),
        ({"Authorization": f"Bearer {'x' * 40}"}, 403, [9109]),
        ({"X-Auth-Key": "0" * 37, "X-Auth-Email": "a@example.com"}, 403, [9103]),
    ],
    ids=["missing", "basic", "empty", "spaces", "unknown", "global-key"],
)
def test_auth_refusals(timed: SandboxServer, headers: dict[str, str], status: int, codes: list[int]) -> None:
    with timed.cloudflare_client(anonymous=True) as client:
        response = client.get(RECORDS, headers=headers)

    assert (response.status_code, _codes(response)) == (status, codes)


def test_auth_error_messages(timed: SandboxServer) -> None:
    with timed.cloudflare_client(anonymous=True) as client:
        missing = client.get(RECORDS)
        unknown = client.get(RECORDS, headers={"Authorization": f"Bearer {'x' * 40}"})
        malformed = client.get(RECORDS, headers={"Authorization": "Token abc"})

    assert _errors(missing) == [
        {"code": 9106, "message": "Missing X-Auth-Key, X-Auth-Email or Authorization headers"}
    ]
    assert _errors(unknown) == [{"code": 9109, "message": "Invalid access token"}]
    assert _errors(malformed) == [
        {
            "code": 6003,
            "message": "Invalid request headers",
            "error_chain": [{"code": 6111, "message": "Invalid format for Authorization header"}],
        }
    ]


def test_auth_comes_before_the_zone_and_the_body(timed: SandboxServer) -> None:
    with timed.cloudflare_client(token="y" * 40) as client:
        response = client.post(f"zones/{'f' * 32}/dns_records", content=b"{bad")

    assert (response.status_code, _codes(response)) == (403, [9109])


def test_tokens_are_added_and_revoked_at_run_time(timed: SandboxServer) -> None:
    with timed.cloudflare_client(token=OTHER_TOKEN) as client:
        before = client.get(RECORDS).status_code
        timed.add_cloudflare_token(OTHER_TOKEN)
        during = client.get(RECORDS).status_code
        timed.revoke_cloudflare_token(OTHER_TOKEN)
        after = client.get(RECORDS)

    assert (before, during, after.status_code, _codes(after)) == (403, 200, 403, [9109])


def test_the_dev_token_can_be_revoked_and_reset_restores_it(timed: SandboxServer, cf: httpx.Client) -> None:
    timed.revoke_cloudflare_token(DEFAULT_CLOUDFLARE_TOKEN)
    revoked = cf.get(RECORDS).status_code
    timed.reset()

    assert (revoked, cf.get(RECORDS).status_code) == (403, 200)


def test_token_verify_answers_without_the_token(cf: httpx.Client) -> None:
    body = cf.get("user/tokens/verify").json()

    assert body["success"] is True
    assert body["result"]["status"] == "active" and ID.match(body["result"]["id"])
    assert DEFAULT_CLOUDFLARE_TOKEN not in str(body)


# -- routing, counters, faults --------------------------------------------------------------------------


def test_unknown_paths_and_methods_answer_in_the_envelope(cf: httpx.Client) -> None:
    nowhere = cf.get("nothing/here")
    wrong_method = cf.delete(f"zones/{ZONE}")

    assert (nowhere.status_code, _codes(nowhere)) == (400, [7003, 7000])
    assert (wrong_method.status_code, _codes(wrong_method)) == (405, [7000])


def test_requests_are_counted_by_route(timed: SandboxServer, cf: httpx.Client, create: Create) -> None:
    created = create(name="send", content='"one"')
    cf.get(f"{RECORDS}/{created['id']}")
    cf.get(f"{RECORDS}/{'0' * 32}")
    cf.put(f"{RECORDS}/{created['id']}", json={"type": "TXT", "name": "send", "content": '"two"'})
    cf.patch(f"{RECORDS}/{created['id']}", json={"ttl": 300})
    cf.get(RECORDS, params={"name": "send.example.com"})
    cf.delete(f"{RECORDS}/{created['id']}")

    assert timed.stats()["by_route"] == {
        "POST /client/v4/zones/{zone_id}/dns_records": {"200": 1},
        "GET /client/v4/zones/{zone_id}/dns_records/{id}": {"200": 1, "404": 1},
        "PUT /client/v4/zones/{zone_id}/dns_records/{id}": {"200": 1},
        "PATCH /client/v4/zones/{zone_id}/dns_records/{id}": {"200": 1},
        "GET /client/v4/zones/{zone_id}/dns_records": {"200": 1},
        "DELETE /client/v4/zones/{zone_id}/dns_records/{id}": {"200": 1},
    }


def test_the_email_domains_faults_do_not_apply_to_cloudflare(timed: SandboxServer, cf: httpx.Client) -> None:
    timed.set_faults(error_rate=1.0, rate_limit_rps=0.001, latency_ms=500)

    answers = [cf.get(RECORDS).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert timed.stats()["rate_limited"] == 0
