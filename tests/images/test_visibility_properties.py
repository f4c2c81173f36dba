"""Property tests of who sees what: describeImages over a real SQLite catalog against a model.

Each example builds a random catalog (a few pins; public, thirdparty, community, private and shared
images; ties in createTime; delisted and deleted images), imports it into a fresh SQLite file and
asks `ImageService.describe_images` random questions as random callers. A plain Python model of
the visibility rules and filters says what each answer must be.
"""

import asyncio
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from cocvm.images.catalog_file import import_records
from cocvm.images.describe import ImageService
from cocvm.images.params import Profile
from cocvm.images.record import ImageRecord
from cocvm.images.visibility import Caller
from cocvm.store.database import create_catalog_engine, ensure_schema
from cocvm.store.sqlite_reader import SqliteCatalogReader

REGIONS = ("cn-north-1", "cn-east-2")
OWNER_PINS = ("alice", "bob", "carol")
CALLER_PINS = (None, "alice", "bob", "carol", "dave")
OPEN_SOURCES = ("public", "thirdparty", "community")
PLATFORMS = ("Ubuntu", "CentOS", "Windows Server")
NAME_WORDS = ("web", "Web", "db", "cache", "ubuntu", "x_1")
CREATE_TIMES = (
    "2023-12-31 23:59:59",
    "2024-01-01 00:00:00",
    "2024-01-01 00:00:01",
    "2024-06-01 12:00:00",
)
STATUSES = ("ready", "ready", "ready", "pending", "error", "deleted")
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Image:
    """One catalog image, as the model represents it."""

    image_id: str
    region_id: str
    source: str
    owner_pin: str
    name: str
    platform: str
    architecture: str
    create_time: str
    offline: bool
    status: str
    shared_with: tuple[str, ...] = ()

    @property
    def create_timestamp(self) -> float:
        local = datetime.fromisoformat(self.create_time).replace(tzinfo=CHINA_STANDARD_TIME)
        return local.timestamp()

    @property
    def launch_permission(self) -> str:
        if self.source != "private":
            return "all"
        return "specifiedUsers" if self.shared_with else "ownerOnly"

    def record(self) -> dict[str, Any]:
        return {
            "regionId": self.region_id,
            "imageId": self.image_id,
            "name": self.name,
            "platform": self.platform,
            "architecture": self.architecture,
            "osType": "windows" if self.platform == "Windows Server" else "linux",
            "imageSource": self.source,
            "ownerPin": self.owner_pin,
            "createTime": self.create_time,
            "offline": self.offline,
            "status": self.status,
            "sharedWith": list(self.shared_with),
        }


@dataclass(frozen=True)
class Query:
    """One describeImages request: the caller's pin and the request parameters."""

    profile: Profile
    caller_pin: str | None
    region_id: str
    image_source: str | None = None
    ids: tuple[str, ...] = ()
    platform: str | None = None
    image_name: str | None = None
    architecture: str | None = None
    offline: bool | None = None
    status: str | None = None
    launch_permission: str | None = None
    page_size: int = 10

    def values(self, page_number: int) -> dict[str, str]:
        values = {"pageSize": str(self.page_size), "pageNumber": str(page_number)}
        optional = {
            "imageSource": self.image_source,
            "platform": self.platform,
            "imageName": self.image_name,
            "architecture": self.architecture,
            "status": self.status,
            "launchPermission": self.launch_permission,
            "offline": None if self.offline is None else str(self.offline).lower(),
        }
        values.update({name: value for name, value in optional.items() if value is not None})
        return values

    def arrays(self) -> dict[str, list[str]]:
        return {"ids": list(self.ids)} if self.ids else {}


# --- The model ----------------------------------------------------------------------------------


def may_see(image: Image, pin: str | None, profile: Profile) -> bool:
    """Whether a caller may see an image in any answer, whatever the request."""
    if image.status == "deleted":
        return False
    if image.source in OPEN_SOURCES:
        return True
    if pin is None:
        return False
    if image.owner_pin == pin:
        return True
    return profile is Profile.VM and pin in image.shared_with


def in_source(image: Image, query: Query) -> bool:
    pin = query.caller_pin
    if query.image_source is None:
        return may_see(image, pin, query.profile)
    if query.image_source == "private":
        return image.source == "private" and pin is not None and image.owner_pin == pin
    if query.image_source == "shared":
        return (
            image.source == "private"
            and pin is not None
            and image.owner_pin != pin
            and pin in image.shared_with
        )
    return image.source == query.image_source


def matches(image: Image, query: Query) -> bool:
    """Whether the image belongs in the result of the query."""
    if image.region_id != query.region_id or image.status == "deleted":
        return False
    if not in_source(image, query):
        return False
    if query.ids and image.image_id not in query.ids:
        return False
    # Delisted public and thirdparty images are listed only with offline=true, and a lookup by
    # ids ignores offline.
    delistable = query.image_source in ("public", "thirdparty")
    if not query.ids and delistable and image.offline != bool(query.offline):
        return False
    if query.platform is not None and image.platform.casefold() != query.platform.casefold():
        return False
    if query.image_name is not None:
        if query.profile is Profile.COC_VM and image.name != query.image_name:
            return False
        if query.profile is Profile.VM and query.image_name.casefold() not in image.name.casefold():
            return False
    if query.architecture is not None and image.architecture != query.architecture:
        return False
    if query.status is not None and image.status != query.status:
        return False
    # launchPermission=all requests every private image, shared or not.
    if query.launch_permission in (None, "all"):
        return True
    return image.launch_permission == query.launch_permission


def expected_answer(catalog: Sequence[Image], query: Query) -> list[Image]:
    """The images the query must return, in describeImages order."""
    found = [image for image in catalog if matches(image, query)]
    return sorted(found, key=lambda image: (-image.create_timestamp, image.image_id))


def expected_source(image: Image, query: Query) -> str:
    """imageSource as the caller must see it: another pin's private image shows as shared."""
    shows_shared = query.profile is Profile.VM and query.image_source in (None, "shared")
    if image.source == "private" and shows_shared and image.owner_pin != query.caller_pin:
        return "shared"
    return image.source


# --- Strategies ---------------------------------------------------------------------------------

image_suffixes = st.text("0123456789abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)
names = st.lists(st.sampled_from(NAME_WORDS), min_size=1, max_size=3).map(" ".join)


@st.composite
def images(draw: st.DrawFn, image_id: str, owners: Sequence[str] = OWNER_PINS) -> Image:
    source = draw(st.sampled_from(("public", "thirdparty", "community", "private", "private")))
    if source in ("public", "thirdparty"):
        owner = draw(st.sampled_from(("admin", *owners)))
    else:
        owner = draw(st.sampled_from(owners))
    shared_with: tuple[str, ...] = ()
    if source == "private":
        sharers = st.sampled_from(("alice", "bob", "carol", "dave"))
        shared_with = tuple(draw(st.lists(sharers, unique=True, max_size=3)))
    return Image(
        image_id=image_id,
        region_id=draw(st.sampled_from(("cn-north-1", "cn-north-1", "cn-east-2"))),
        source=source,
        owner_pin=owner,
        name=draw(names),
        platform=draw(st.sampled_from(PLATFORMS)),
        architecture=draw(st.sampled_from(("x86_64", "arm64"))),
        create_time=draw(st.sampled_from(CREATE_TIMES)),
        offline=draw(st.booleans()),
        status=draw(st.sampled_from(STATUSES)),
        shared_with=shared_with,
    )


@st.composite
def catalogs(draw: st.DrawFn) -> list[Image]:
    suffixes = draw(st.lists(image_suffixes, unique=True, min_size=8, max_size=40))
    return [draw(images(f"img-{suffix}")) for suffix in suffixes]


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent three times in four, so that a query with several filters still finds images."""
    return st.one_of(st.none(), st.none(), st.none(), strategy)


@st.composite
def queries(draw: st.DrawFn, catalog: Sequence[Image], unknown_ids: Sequence[str]) -> Query:
    profile = draw(st.sampled_from((Profile.VM, Profile.COC_VM)))
    sources: tuple[str | None, ...] = (None, "public", "thirdparty", "community", "private")
    if profile is Profile.VM:
        sources += ("shared",)
    image_source = draw(st.sampled_from(sources))

    # No ids, a few ids, or every id in the catalog (plus unknown ones) in a random order.
    known_ids = [image.image_id for image in catalog]
    id_pool = [*known_ids, *unknown_ids]
    id_choices = ("some", "all") if image_source is None else ("none", "none", "some", "all")
    id_choice = draw(st.sampled_from(id_choices))
    ids: tuple[str, ...] = ()
    if id_choice == "some":
        ids = tuple(draw(st.lists(st.sampled_from(id_pool), unique=True, min_size=1, max_size=6)))
    elif id_choice == "all":
        ids = tuple(draw(st.permutations(id_pool)))

    catalog_names = [image.name for image in catalog]
    image_name = draw(optional(st.sampled_from([*NAME_WORDS, *catalog_names])))
    query = Query(
        profile=profile,
        caller_pin=draw(st.sampled_from(CALLER_PINS)),
        region_id=draw(st.sampled_from((REGIONS[0], *REGIONS))),
        image_source=image_source,
        ids=ids,
        platform=draw(optional(st.sampled_from((*PLATFORMS, "ubuntu", "WINDOWS SERVER")))),
        image_name=image_name,
        architecture=draw(optional(st.sampled_from(("x86_64", "arm64")))),
        page_size=draw(st.sampled_from((10, 11, 100))),
    )
    if profile is Profile.VM:
        launch_permissions = ("all", "specifiedUsers", "ownerOnly")
        query = replace(
            query,
            offline=draw(optional(st.booleans())),
            status=draw(optional(st.sampled_from(("ready", "pending", "error")))),
            launch_permission=(
                draw(optional(st.sampled_from(launch_permissions)))
                if image_source == "private"
                else None
            ),
        )
    return query


# --- Running queries against the store ----------------------------------------------------------


@pytest.fixture(scope="module")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty catalog database with the current schema, copied for every example."""
    path = tmp_path_factory.mktemp("visibility") / "template.db"
    engine = create_catalog_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    engine.dispose()
    return path


class Store:
    """A fresh SQLite catalog for one example: a writer engine and the server's reader."""

    def __init__(self, template: Path, folder: Path) -> None:
        self.path = folder / "catalog.db"
        shutil.copyfile(template, self.path)
        self.engine: Engine = create_catalog_engine(f"sqlite:///{self.path}")
        self.reader = SqliteCatalogReader(str(self.path))

    def add(self, catalog: Sequence[Image]) -> None:
        records = msgspec.convert([image.record() for image in catalog], list[ImageRecord])
        import_records(self.engine, records)

    def close(self) -> None:
        asyncio.run(self.reader.close())
        self.engine.dispose()


def open_store(template: Path) -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(template, Path(folder))
        try:
            yield store
        finally:
            store.close()


async def describe(store: Store, query: Query, page_number: int) -> dict[str, Any]:
    service = ImageService(store.reader, profile=query.profile, regions=REGIONS)
    result = await service.describe_images(
        query.region_id,
        query.values(page_number),
        query.arrays(),
        Caller(pin=query.caller_pin),
    )
    decoded: dict[str, Any] = msgspec.json.decode(result)
    return decoded


async def all_pages(store: Store, query: Query) -> tuple[list[int], list[dict[str, Any]]]:
    """Fetch pages until the images run out; return each page's totalCount and all images."""
    totals: list[int] = []
    collected: list[dict[str, Any]] = []
    page_number = 1
    while True:
        result = await describe(store, query, page_number)
        totals.append(result["totalCount"])
        collected.extend(result["images"])
        if not result["images"]:
            return totals, collected
        page_number += 1


def check_answer(
    store: Store, catalog: Sequence[Image], query: Query
) -> tuple[list[int], list[dict[str, Any]]]:
    """Compare every page of the result with the model; return the totals and the images."""
    totals, returned = asyncio.run(all_pages(store, query))
    by_id = {image.image_id: image for image in catalog}
    expected = expected_answer(catalog, query)

    leaked = [
        image["imageId"]
        for image in returned
        if not may_see(by_id[image["imageId"]], query.caller_pin, query.profile)
    ]
    assert leaked == [], f"{query} returned images the caller may not see"
    assert set(totals) == {len(expected)}, f"{query}: totalCount differs from the model"
    assert len(returned) == len(expected), f"{query}: paging yields another number of images"
    assert [image["imageId"] for image in returned] == [image.image_id for image in expected]
    assert [image["imageSource"] for image in returned] == [
        expected_source(image, query) for image in expected
    ]
    return totals, returned


# --- Properties ---------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_describe_matches_model(template_database: Path, data: st.DataObject) -> None:
    catalog = data.draw(catalogs(), label="catalog")
    unknown_ids = ["img-unknown1", "img-unknown2"]
    requests = data.draw(st.lists(queries(catalog, unknown_ids), min_size=1, max_size=6))

    for store in open_store(template_database):
        store.add(catalog)
        for query in requests:
            for caller_pin in CALLER_PINS:
                check_answer(store, catalog, replace(query, caller_pin=caller_pin))


@PROPERTY_SETTINGS
@given(data=st.data())
def test_describe_unchanged_when_other_private_grows(
    template_database: Path, data: st.DataObject
) -> None:
    catalog = data.draw(catalogs(), label="catalog")
    # The other pin's new images take ids that the query may name in ids.N.
    new_ids = ["img-zznew1", "img-zznew2", "img-zznew3", "img-0new4"]
    query = data.draw(queries(catalog, new_ids), label="query")
    other_pin = data.draw(
        st.sampled_from([pin for pin in OWNER_PINS if pin != query.caller_pin]), label="other"
    )
    grown = [
        replace(
            data.draw(images(image_id, owners=(other_pin,))),
            source="private",
            owner_pin=other_pin,
            shared_with=tuple(
                data.draw(
                    st.lists(
                        st.sampled_from(
                            [pin for pin in OWNER_PINS if pin not in (query.caller_pin, other_pin)]
                        ),
                        unique=True,
                    )
                )
            ),
        )
        for image_id in new_ids
    ]

    for store in open_store(template_database):
        store.add(catalog)
        before = check_answer(store, catalog, query)
        store.add(grown)
        after = check_answer(store, [*catalog, *grown], query)

        assert after == before
