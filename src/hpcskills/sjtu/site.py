"""The SJTU site profile: a data file in the skill folder, overridable without code changes,
read once into typed records and checked (a bad field is BadInput `site_invalid`)."""

from __future__ import annotations

import difflib
import json
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from hpcskills.core.errors import BadInput
from hpcskills.core.urls import check_base_url
from hpcskills.sjtu.site_reader import ObjectReader, site_invalid
from hpcskills.slurm.limits import PartitionLimits
from hpcskills.slurm.units import parse_duration

SITE_FILE_ENV = "HPCSKILLS_SITE_FILE"
API_URL_ENV = "HPCSKILLS_SJTU_API_URL"
BUSINESSES = ("job", "data")
POOL_KINDS = ("hot", "scratch", "cold")
KEY = {"key": True}  # a record's name is its key in the profile's object, not a field
# `PATCH /user` body fields, by the pack's names (what `account_update.fields` may rename)
USER_UPDATE_FIELDS = ("name", "password", "email", "jAccount", "contactMethod")


@dataclass(frozen=True)
class ApiSettings:
    """Where the HPC API is and how long to wait for it."""

    base_url: str = ""
    domain: str = "pi"
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class Support:
    """Whom users write to, and the site's documentation."""

    email: str = ""
    docs: str = ""
    security_docs: str = ""


@dataclass(frozen=True)
class CertificateSettings:
    """SSH certificate defaults: validity and how long a 2FA approval may take."""

    default_valid_seconds: int = 3600
    twofa_wait_seconds: int = 600


@dataclass(frozen=True)
class AccountUpdate:
    """`PATCH /user`: no public source gives its body (facts/sjtu.md), so its field names
    are the pack's guess until the profile says otherwise (`fields`: pack name → site name)."""

    verified: bool = False
    note: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeGroup:
    """A group of compute nodes with its own Slurm cluster and login nodes."""

    name: str = field(metadata=KEY)
    title: str | None = None
    home_pool: str | None = None


@dataclass(frozen=True)
class Partition:
    """A Slurm partition, its node group, limits and hardware (None: not stated)."""

    name: str = field(metadata=KEY)
    node_group: str
    max_nodes: int | None = None
    max_time: str | None = None
    gpus_per_node: int | None = None
    gpu_model: str | None = None
    cores_per_node: int | None = None
    mem_per_node_gb: int | None = None
    cpus_per_gpu: int | None = None
    launcher: str | None = None
    debug: bool = False
    note: str | None = None

    @property
    def limits(self) -> PartitionLimits:
        return PartitionLimits(self.max_nodes, self.max_time, self.gpus_per_node, self.gpu_model)

    def described(self) -> dict[str, Any] | None:
        """What the profile says about the partition besides its node group (None: nothing)."""
        stated = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("name", "node_group") and getattr(self, f.name) not in (None, False)
        }
        return stated or None


@dataclass(frozen=True)
class EntryNode:
    """A login node (business `job`) or data node (business `data`) users SSH to."""

    name: str = field(metadata=KEY)
    host: str
    business: str
    node_groups: tuple[str, ...]
    port: int = 22
    note: str | None = None

    @property
    def is_data_node(self) -> bool:
        return self.business == "data"

    def listed_in(self, allowed: tuple[str, ...]) -> bool:
        """Whether a visible/writable list names this node: data nodes by their own name,
        login nodes by name or by one of their node groups."""
        if self.name in allowed:
            return True
        return not self.is_data_node and any(group in allowed for group in self.node_groups)


@dataclass(frozen=True)
class Pool:
    """One storage pool: its mount, kind (hot, scratch, cold) and who reads/writes it."""

    name: str = field(metadata=KEY)
    mount: str
    kind: str = "hot"
    title: str = ""
    visible_from: tuple[str, ...] = ()
    writable_from: tuple[str, ...] = ()
    union_of: tuple[str, ...] = ()

    def holds(self, path: str) -> bool:
        """Whether the normalized absolute `path` lies on this pool."""
        return path == self.mount or path.startswith(self.mount.rstrip("/") + "/")


@dataclass(frozen=True)
class TransferSettings:
    """How the data nodes run rsync transfers."""

    max_parallel_rsync: int = 10
    rsync_flags: tuple[str, ...] = ("--archive", "--partial")


@dataclass(frozen=True)
class SlurmSettings:
    """The Slurm cluster name of each node group, and the largest job array the site takes:
    array indices must stay below `max_array_size` (Slurm's MaxArraySize; None: not
    checked). `max_array_size_source` says where the number comes from; None marks it
    unverified (an assumption, e.g. Slurm's default)."""

    cluster_names: Mapping[str, str] = field(default_factory=dict)
    max_array_size: int | None = None
    max_array_size_source: str | None = None

    @property
    def max_array_size_verified(self) -> bool:
        return self.max_array_size_source is not None


@dataclass(frozen=True)
class Price:
    """What one partition charges per core-hour and per GPU-card-hour (None: nothing);
    `whole_node`: every
    allocated node is charged in full (all its cores and GPUs). `source` says where the
    rates come from; None marks them unverified."""

    partition: str = field(metadata=KEY)
    core_hour: float | None = None
    gpu_card_hour: float | None = None
    whole_node: bool = False
    source: str | None = None

    @property
    def verified(self) -> bool:
        return self.source is not None


@dataclass(frozen=True)
class Pricing:
    """The site's price table (data, not code): rates per partition, in `currency`."""

    currency: str = "CNY"
    partitions: Mapping[str, Price] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteProfile:
    """The site's API, support contacts, node groups, partitions, entry nodes and storage."""

    name: str = "sjtu"
    title: str | None = None
    api: ApiSettings = ApiSettings()
    support: Support = Support()
    certificate: CertificateSettings = CertificateSettings()
    contact_methods: tuple[str, ...] = ("jwb", "email")
    account_update: AccountUpdate = AccountUpdate()
    node_groups: Mapping[str, NodeGroup] = field(default_factory=dict)
    partitions: Mapping[str, Partition] = field(default_factory=dict)
    partition_aliases: Mapping[str, str] = field(default_factory=dict)
    entry_nodes: Mapping[str, EntryNode] = field(default_factory=dict)
    storage: Mapping[str, Pool] = field(default_factory=dict)
    transfer: TransferSettings = TransferSettings()
    slurm: SlurmSettings = SlurmSettings()
    pricing: Pricing = Pricing()

    @property
    def api_base_url(self) -> str:
        if not self.api.base_url:
            raise site_invalid("api.base_url", "is missing")
        return check_base_url(self.api.base_url)

    @property
    def api_domain(self) -> str:
        return self.api.domain

    @property
    def api_timeout(self) -> float:
        return self.api.timeout_seconds

    @property
    def support_email(self) -> str:
        return self.support.email

    @property
    def security_docs(self) -> str:
        return self.support.security_docs

    @property
    def default_cert_valid_seconds(self) -> int:
        return self.certificate.default_valid_seconds

    @property
    def twofa_wait_seconds(self) -> int:
        return self.certificate.twofa_wait_seconds

    def partition(self, name: str) -> Partition:
        """The partition called `name` or spelled so by an alias (debug100 → debuga100);
        BadInput `unknown_partition` with the closest canonical names."""
        canonical = name if name in self.partitions else self.partition_aliases.get(name, name)
        if canonical in self.partitions:
            return self.partitions[canonical]
        spellings = [*self.partitions, *self.partition_aliases]
        close = difflib.get_close_matches(name, spellings, n=3, cutoff=0.5)
        close = list(dict.fromkeys(self.partition_aliases.get(c, c) for c in close))
        raise BadInput(
            f"unknown partition {name!r}",
            type="unknown_partition",
            hint=(f"did you mean {' or '.join(close)}? " if close else "")
            + "partitions: "
            + ", ".join(self.partitions),
            suggestions=close,
        )

    def node_group(self, name: str) -> NodeGroup:
        """The node group called `name`; BadInput naming the known ones."""
        if name not in self.node_groups:
            raise BadInput(
                f"unknown node group {name!r}",
                type="unknown_node_group",
                hint="one of: " + ", ".join(self.node_groups),
            )
        return self.node_groups[name]

    def home_root(self, node_group: str) -> str:
        """The mount holding the homes of `node_group` (what `%H` means there)."""
        group = self.node_group(node_group)
        if group.home_pool is None:
            raise site_invalid(f"node_groups.{node_group}.home_pool", "is missing")
        return self.storage[group.home_pool].mount

    @property
    def user_update_fields(self) -> dict[str, str]:
        """Wire name of each `PATCH /user` body field (the unverified guess unless set)."""
        return {name: self.account_update.fields.get(name, name) for name in USER_UPDATE_FIELDS}

    def entry_node(self, name: str) -> EntryNode:
        """The entry node called `name`; BadInput `unknown_entry_node` naming the known ones."""
        if name not in self.entry_nodes:
            raise BadInput(
                f"unknown entry node {name!r}",
                type="unknown_entry_node",
                hint="one of: " + ", ".join(self.entry_nodes),
            )
        return self.entry_nodes[name]

    def entry_nodes_of(self, node_group: str, business: str) -> list[EntryNode]:
        """The entry nodes doing `business` work for a node group, in profile order."""
        return [
            node
            for node in self.entry_nodes.values()
            if node.business == business and node_group in node.node_groups
        ]

    def data_nodes(self) -> list[EntryNode]:
        """The entry nodes for data work (transfers), in profile order."""
        return [node for node in self.entry_nodes.values() if node.is_data_node]

    def pool_of(self, path: str) -> Pool:
        """The pool whose mount holds `path`; BadInput `unknown_storage` when none does."""
        normalized = posixpath.normpath(path)
        for pool in self.storage.values():
            if pool.holds(normalized):
                return pool
        raise BadInput(
            f"{path} is on no known storage pool",
            type="unknown_storage",
            hint="paths start with one of: " + ", ".join(p.mount for p in self.storage.values()),
        )

    def pools_of_kind(self, kind: str) -> list[Pool]:
        """The pools of one kind (hot, scratch, cold), in profile order."""
        return [pool for pool in self.storage.values() if pool.kind == kind]

    def to_document(self) -> dict[str, Any]:
        """The profile as JSON data that `parse_site` reads back to an equal profile."""
        document = _plain(self)
        assert isinstance(document, dict)
        return document


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in fields(value)
            if not f.metadata.get("key") and getattr(value, f.name) is not None
        }
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


# ---------------------------------------------------------------- reading the profile


def _api(read: ObjectReader) -> ApiSettings:
    api = ApiSettings(
        base_url=read.text("base_url", ""),
        domain=read.text("domain", "pi"),
        timeout_seconds=read.number("timeout_seconds", 30.0),
    )
    read.done()
    return api


def _support(read: ObjectReader) -> Support:
    support = Support(read.text("email", ""), read.text("docs", ""), read.text("security_docs", ""))
    read.done()
    return support


def _certificate(read: ObjectReader) -> CertificateSettings:
    settings = CertificateSettings(
        read.integer("default_valid_seconds", 3600, minimum=1),
        read.integer("twofa_wait_seconds", 600, minimum=1),
    )
    read.done()
    return settings


def _account_update(read: ObjectReader) -> AccountUpdate:
    settings = AccountUpdate(
        read.flag("verified"), read.optional_text("note"), read.names("fields")
    )
    read.done()
    for name in settings.fields:
        if name not in USER_UPDATE_FIELDS:
            raise site_invalid(
                f"account_update.fields.{name}", "must be one of: " + ", ".join(USER_UPDATE_FIELDS)
            )
    return settings


def _node_group(name: str, read: ObjectReader) -> NodeGroup:
    group = NodeGroup(name, read.optional_text("title"), read.optional_text("home_pool"))
    read.done()
    return group


def _partition(name: str, read: ObjectReader) -> Partition:
    max_time = read.optional_text("max_time")
    if max_time is not None and parse_duration(max_time) is None:
        raise site_invalid(read.field("max_time"), f"is not a Slurm duration: {max_time!r}")
    partition = Partition(
        name,
        node_group=read.text("node_group"),
        max_nodes=read.optional_integer("max_nodes", minimum=1),
        max_time=max_time,
        gpus_per_node=read.optional_integer("gpus_per_node", minimum=1),
        gpu_model=read.optional_text("gpu_model"),
        cores_per_node=read.optional_integer("cores_per_node", minimum=1),
        mem_per_node_gb=read.optional_integer("mem_per_node_gb", minimum=1),
        cpus_per_gpu=read.optional_integer("cpus_per_gpu", minimum=1),
        launcher=read.optional_text("launcher"),
        debug=read.flag("debug"),
        note=read.optional_text("note"),
    )
    read.done()
    return partition


def _entry_node(name: str, read: ObjectReader) -> EntryNode:
    node = EntryNode(
        name,
        host=read.text("host"),
        business=read.text("business"),
        node_groups=read.words("node_groups"),
        port=read.integer("port", 22, minimum=1),
        note=read.optional_text("note"),
    )
    read.done()
    if node.business not in BUSINESSES:
        raise site_invalid(read.field("business"), "must be job or data")
    if not node.node_groups:
        raise site_invalid(read.field("node_groups"), "must name at least one node group")
    if node.port > 65535:
        raise site_invalid(read.field("port"), "must be a TCP port (1-65535)")
    return node


def _pool(name: str, read: ObjectReader) -> Pool:
    mount = read.text("mount")
    if not mount.startswith("/"):
        raise site_invalid(read.field("mount"), f"must be an absolute path, not {mount!r}")
    pool = Pool(
        name,
        mount=posixpath.normpath(mount),
        kind=read.text("kind", "hot"),
        title=read.text("title", ""),
        visible_from=read.words("visible_from"),
        writable_from=read.words("writable_from"),
        union_of=read.words("union_of"),
    )
    read.done()
    if pool.kind not in POOL_KINDS:
        raise site_invalid(read.field("kind"), "must be one of: " + ", ".join(POOL_KINDS))
    return pool


def _transfer(read: ObjectReader) -> TransferSettings:
    settings = TransferSettings(
        read.integer("max_parallel_rsync", 10, minimum=1),
        read.words("rsync_flags", ("--archive", "--partial")),
    )
    read.done()
    return settings


def _slurm(read: ObjectReader) -> SlurmSettings:
    settings = SlurmSettings(
        read.names("cluster_names"),
        read.optional_integer("max_array_size", minimum=1),
        read.optional_text("max_array_size_source"),
    )
    read.done()
    return settings


def _price(name: str, read: ObjectReader) -> Price:
    price = Price(
        name,
        core_hour=read.optional_number("core_hour"),
        gpu_card_hour=read.optional_number("gpu_card_hour"),
        whole_node=read.flag("whole_node"),
        source=read.optional_text("source"),
    )
    read.done()
    return price


def _pricing(read: ObjectReader) -> Pricing:
    pricing = Pricing(
        read.text("currency", "CNY"),
        {name: _price(name, r) for name, r in read.entries("partitions")},
    )
    read.done()
    return pricing


def _require_known(field_name: str, names: tuple[str, ...], known: Mapping[str, Any], what: str):
    for name in names:
        if name not in known:
            raise site_invalid(
                field_name, f"names {name!r}, which is no {what} (known: {', '.join(known)})"
            )


def _check_references(site: SiteProfile) -> None:
    """Every name one part of the profile uses is defined in another."""
    for group in site.node_groups.values():
        if group.home_pool is not None:
            _require_known(
                f"node_groups.{group.name}.home_pool", (group.home_pool,), site.storage, "pool"
            )
    for part in site.partitions.values():
        _require_known(
            f"partitions.{part.name}.node_group", (part.node_group,), site.node_groups, "node group"
        )
    for alias, target in site.partition_aliases.items():
        if alias in site.partitions:
            raise site_invalid(f"partition_aliases.{alias}", "is already a partition's own name")
        _require_known(f"partition_aliases.{alias}", (target,), site.partitions, "partition")
    for node in site.entry_nodes.values():
        _require_known(
            f"entry_nodes.{node.name}.node_groups", node.node_groups, site.node_groups, "node group"
        )
    reachers = {**site.node_groups, **site.entry_nodes}
    for pool in site.storage.values():
        for key in ("visible_from", "writable_from"):
            _require_known(
                f"storage.{pool.name}.{key}",
                getattr(pool, key),
                reachers,
                "node group or entry node",
            )
        _require_known(f"storage.{pool.name}.union_of", pool.union_of, site.storage, "pool")
    _require_known(
        "slurm.cluster_names", tuple(site.slurm.cluster_names), site.node_groups, "node group"
    )
    _require_known(
        "pricing.partitions", tuple(site.pricing.partitions), site.partitions, "partition"
    )


def parse_site(document: Any) -> SiteProfile:
    """The typed profile of a JSON document; BadInput `site_invalid` naming the first bad
    field (wrong type, unknown field, or a name no other part of the profile defines)."""
    read = ObjectReader(document, "")
    site = SiteProfile(
        name=read.text("name", "sjtu"),
        title=read.optional_text("title"),
        api=_api(read.table("api")),
        support=_support(read.table("support")),
        certificate=_certificate(read.table("certificate")),
        contact_methods=read.words("contact_methods", ("jwb", "email")),
        account_update=_account_update(read.table("account_update")),
        node_groups={name: _node_group(name, r) for name, r in read.entries("node_groups")},
        partitions={name: _partition(name, r) for name, r in read.entries("partitions")},
        partition_aliases=read.names("partition_aliases"),
        entry_nodes={name: _entry_node(name, r) for name, r in read.entries("entry_nodes")},
        storage={name: _pool(name, r) for name, r in read.entries("storage")},
        transfer=_transfer(read.table("transfer")),
        slurm=_slurm(read.table("slurm")),
        pricing=_pricing(read.table("pricing")),
    )
    read.done()
    _check_references(site)
    return site


# ---------------------------------------------------------------- the files


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`: nested mappings merge, everything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise BadInput(f"site profile {path} does not exist", type="site_missing") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise BadInput(
            f"site profile {path} is not valid JSON: {exc}", type="site_invalid"
        ) from None
    if not isinstance(value, dict):
        raise BadInput(f"site profile {path} must hold a JSON object", type="site_invalid")
    return value


def load_site(base_file: Path) -> SiteProfile:
    """The profile in `base_file`, with `$HPCSKILLS_SITE_FILE` laid over it and
    `$HPCSKILLS_SJTU_API_URL` replacing the API base URL, read and checked once."""
    data = _read_json(base_file)
    override = os.environ.get(SITE_FILE_ENV)
    if override:
        data = deep_merge(data, _read_json(Path(override).expanduser()))
    api_url = os.environ.get(API_URL_ENV)
    if api_url:
        data = deep_merge(data, {"api": {"base_url": api_url}})
    return parse_site(data)
