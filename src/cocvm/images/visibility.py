"""Who sees which images: the caller's identity and the rules that turn it into store filters.

| imageSource   | images listed                                                   |
|---------------|-----------------------------------------------------------------|
| public        | official images, for every caller                               |
| thirdparty    | marketplace images, for every caller                            |
| community     | images their owners published to the community, for every caller |
| private       | images owned by the caller's pin                                |
| shared        | private images of other pins shared with the caller (vm profile) |
| (only ids)    | any of the above that the caller may see                        |

A caller without a pin (anonymous) sees only the first three. The rules are expressed as filters the
store applies in SQL, so another pin's private images are never read, counted or rendered.
"""

from __future__ import annotations

from dataclasses import dataclass

from cocvm.images.params import Profile
from cocvm.store.query import OPEN_SOURCES


@dataclass(frozen=True, slots=True)
class Caller:
    """The sender of a request: the pin that owns its access key, or None when anonymous."""

    pin: str | None = None
    access_key: str | None = None


ANONYMOUS = Caller()


@dataclass(frozen=True, slots=True)
class VisibleScope:
    """The store filters that select the images a caller may see from one imageSource."""

    sources: tuple[str, ...] = ()
    owner_pin: str | None = None
    shared_with_pin: str | None = None


def visible_scope(image_source: str | None, caller: Caller, profile: Profile) -> VisibleScope:
    """Return what `image_source` shows this caller; None means every source (a lookup by ids)."""
    if image_source is None:
        return VisibleScope(
            sources=OPEN_SOURCES,
            owner_pin=caller.pin,
            shared_with_pin=caller.pin if profile is Profile.VM else None,
        )
    if image_source == "private":
        return VisibleScope(owner_pin=caller.pin)
    if image_source == "shared":
        return VisibleScope(shared_with_pin=caller.pin)
    return VisibleScope(sources=(image_source,))
