"""describeImages: validate the request, ask the catalog, render the result object."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import msgspec

from cocvm.images.params import DescribeImagesParams, Profile, parse_describe_params
from cocvm.images.visibility import Caller, visible_scope
from cocvm.store.query import DELISTABLE_SOURCES, DocumentColumn, ImageQuery
from cocvm.store.reader import CatalogReader


class ImageService:
    """Serves describeImages for one server: its API profile, its regions and its catalog."""

    def __init__(
        self, reader: CatalogReader, *, profile: Profile, regions: Collection[str]
    ) -> None:
        self._reader = reader
        self._profile = profile
        self._regions = frozenset(regions)
        self._document: DocumentColumn = "coc_vm_json" if profile is Profile.COC_VM else "vm_json"

    @property
    def profile(self) -> Profile:
        """The API profile this service speaks."""
        return self._profile

    async def describe_images(
        self,
        region_id: str,
        values: Mapping[str, str],
        arrays: Mapping[str, Sequence[str]],
        caller: Caller,
    ) -> bytes:
        """Return describeImages' `result` object as JSON: `{"images": [...], "totalCount": N}`.

        Raises an ApiError for invalid parameters, and StoreUnavailableError when the store fails.
        """
        params = parse_describe_params(
            region_id, values, arrays, profile=self._profile, regions=self._regions
        )

        query = self._image_query(params, caller)
        total, documents = await self._reader.describe(query)
        if query.shared_with_pin is not None:
            documents = _mark_shared(documents, query.shared_with_pin)

        return b"".join(
            (b'{"images":[', b",".join(documents), b'],"totalCount":', b"%d" % total, b"}")
        )

    def _image_query(self, params: DescribeImagesParams, caller: Caller) -> ImageQuery:
        scope = visible_scope(params.image_source, caller, self._profile)

        # Delisted public and thirdparty images are hidden from listings unless `offline=true`
        # requests them. A lookup by ids returns them whatever the value of `offline`.
        offline: bool | None = None
        if not params.ids and params.image_source in DELISTABLE_SOURCES:
            offline = bool(params.offline)

        exact_name = params.image_name if self._profile is Profile.COC_VM else None
        name_contains = (
            params.image_name.casefold()
            if self._profile is Profile.VM and params.image_name is not None
            else None
        )

        return ImageQuery(
            region_id=params.region_id,
            document=self._document,
            limit=params.page_size,
            offset=(params.page_number - 1) * params.page_size,
            sources=scope.sources,
            owner_pin=scope.owner_pin,
            shared_with_pin=scope.shared_with_pin,
            ids=params.ids,
            offline=offline,
            distribution_folded=params.platform.casefold() if params.platform else None,
            name=exact_name,
            name_contains_folded=name_contains,
            architecture=params.architecture,
            status=params.status,
            root_device_type=params.root_device_type,
            # `all` requests every private image, shared or not, so it filters nothing.
            launch_permission=None
            if params.launch_permission == "all"
            else params.launch_permission,
            boot_mode=params.boot_mode,
            service_code=params.service_code,
            instance_ids=params.instance_ids,
        )


_PRIVATE_SOURCE = b'"imageSource":"private"'
_SHARED_SOURCE = b'"imageSource":"shared"'


def _mark_shared(documents: list[bytes], caller_pin: str) -> list[bytes]:
    """Show another pin's private image as `shared` to the pin it was shared with.

    A rendered document is compact JSON, and quotes inside string values are escaped, so the
    markers below can only match the fields themselves.
    """
    own_marker = b'"ownerPin":' + msgspec.json.encode(caller_pin)
    marked = []
    for document in documents:
        if _PRIVATE_SOURCE in document and own_marker not in document:
            document = document.replace(_PRIVATE_SOURCE, _SHARED_SOURCE, 1)
        marked.append(document)
    return marked
