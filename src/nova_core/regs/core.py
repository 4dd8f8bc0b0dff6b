"""nova_core.regs.core: registers and bitfields declared once, as data, validated at import.

A register is declared as a class whose body lists its fields, ``hi:lo`` as in NVIDIA's headers::

    class NV_PMC_BOOT_42(Register, offset=0x000A00):
        \"\"\"Chip identification (the source of the chipset id since Turing).\"\"\"
        minor_extended_revision = Field(11, 8, RO)
        architecture = Field(29, 24, RO)

The class *is* the register: ``NV_PMC_BOOT_42.read(bar)`` returns the raw 32-bit value,
``NV_PMC_BOOT_42.architecture.get(value)`` one field (a typed attribute that IDEs and mypy see),
``decode(value)`` all of them. The small, fixed verb set:

==========================  ==============================================================
``read(bar)``               raw value (``base=`` for engine-relative, ``i=`` for arrays)
``write(bar, **fields)``    encode the fields (others 0) and write; ``write(bar, raw)`` too
``update(bar, **fields)``   read-modify-write of the named fields (W1C bits are not echoed)
``wait(bar, clock, ...)``   bounded poll until fields have the given values
``encode(**fields)``        fields to a value; a value that does not fit is refused
``decode(value)``           value to ``{field: int}`` (``symbolic=True`` gives enum members)
==========================  ==============================================================

Engine-relative registers name a :class:`Domain` (the falcon block is one definition, used at the GSP
base 0x110000 and the SEC2 base 0x840000); arrays give ``count`` and ``stride``.

Chips differ as register *families* (:data:`FAMILIES`, named after the directory of NVIDIA's published headers
that defines them). ``chips="GA102+"`` (also ``"TU102-AD102"``, ``"TU102, GA102"``) says where a register exists.
Where a family has the register with other facts, a subclass declares the *variant* and only what differs::

    class NV_PFALCON_FALCON_IMEMC_TU102(NV_PFALCON_FALCON_IMEMC, chips="TU102"):
        blk = Field(15, 8)        # 23:8 from GA100 on

``NV_PFALCON_FALCON_IMEMC.for_family("TU102")`` returns the variant (the register itself elsewhere); a variant
keeps the register's name (its ``offset=``/``count=`` may differ) and is not a second register. Every declaration is
entered in :data:`REGISTRY`, which answers the reverse question (offset + value to register and
fields) for traces, ``nova regs decode`` and error messages. Overlapping fields, duplicate names,
fields past the width, two registers on the same bytes: refused when the module is imported.

The machinery is not tied to MMIO: :class:`Bitfield` (no offset) describes page-table entries and other
packed values of 64 or 128 bits with the same fields, encode and decode.
"""

from __future__ import annotations

import bisect
import enum
import fnmatch
import functools
import operator
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from ..errors import RegisterError, did_you_mean

if TYPE_CHECKING:
    from ..hw.bar import Bar
    from ..hw.clock import Clock


#: Register families, oldest first: the directories of NVIDIA's published headers (open-gpu-kernel-modules
#: ``src/common/inc/swref/published``) that define the registers of a group of chips - TU102: Turing (TU10x,
#: TU11x); GA100; GA102: GA10x; AD102: AD10x; GH100; GB100: GB10x; GB202: GB20x. ``gpu/chips.py`` gives every
#: chip its family (``ChipFacts.reg_family``); ``chips=`` ranges are read in this order.
FAMILIES = ("TU102", "GA100", "GA102", "AD102", "GH100", "GB100", "GB202")


@functools.cache
def families(spec: str) -> frozenset[str]:
    """The families a ``chips=`` spec names: ``""`` all, ``"GA102+"``, ``"TU102-AD102"``, items joined by commas."""
    if not spec.strip():
        return frozenset(FAMILIES)
    out: set[str] = set()
    for raw in spec.split(","):
        item = raw.strip()
        lo, sep, hi = item.partition("-")
        if item.endswith("+"):
            lo, hi = item[:-1], FAMILIES[-1]
        elif not sep:
            hi = lo
        for name in (lo, hi):
            if name not in FAMILIES:
                raise RegisterError(f"chips={spec!r}: {name!r} is not a register family (one of "
                                    f"{', '.join(FAMILIES)})" + did_you_mean(name, FAMILIES))
        i, j = FAMILIES.index(lo), FAMILIES.index(hi)
        if i > j:
            raise RegisterError(f"chips={spec!r}: {item!r} runs backwards ({', '.join(FAMILIES)} is the order)")
        out.update(FAMILIES[i:j + 1])
    return frozenset(out)


class Access(enum.Enum):
    """How software may access a field."""

    RO = "RO"    #: read-only: writes are ignored by hardware and refused by ``write``/``update``
    RW = "RW"    #: read-write
    W1C = "W1C"  #: write-1-to-clear: writing 1 clears the bit, 0 leaves it
    WO = "WO"    #: write-only: reads return an undefined value

    def __str__(self) -> str:
        return self.value


RO, RW, W1C, WO = Access.RO, Access.RW, Access.W1C, Access.WO


class Field:
    """A bit field ``hi:lo`` (inclusive) of a register or bitfield.

    Args:
        hi, lo: bit positions, as NVIDIA headers write them (``Field(29, 24)`` is ``29:24``).
            ``Field(4)`` is the single bit 4.
        access: :class:`Access` of the field.
        enum: an ``IntEnum`` naming the values (``decode(symbolic=True)`` returns its members).
        doc: one line of documentation.
        nv: NVIDIA's name for the field where ours differs (``Field(31, 0, nv="VALUE")``); else the upper-cased
            name without a trailing ``_`` is NVIDIA's (:attr:`nv_name`, what the register reference checks).
    """

    __slots__ = ("access", "doc", "enum", "hi", "lo", "mask", "name", "nv", "owner", "shift", "width")

    def __init__(self, hi: int, lo: int | None = None, access: Access = RW, *,
                 enum: type[enum.IntEnum] | None = None, doc: str = "", nv: str | None = None) -> None:
        lo = hi if lo is None else lo
        if not (isinstance(hi, int) and isinstance(lo, int)) or lo < 0 or hi < lo:
            raise RegisterError(f"field bits {hi}:{lo} are not a valid hi:lo range (need hi >= lo >= 0)")
        self.hi = hi
        self.lo = lo
        self.width = hi - lo + 1
        self.shift = lo
        self.mask = ((1 << self.width) - 1) << lo
        self.access = access
        self.enum = enum
        self.doc = doc
        self.nv = nv
        self.name = "?"
        self.owner = "?"
        _note_declaration()
        if enum is not None:
            for member in enum:
                if not 0 <= int(member) < (1 << self.width):
                    raise RegisterError(
                        f"enum {enum.__name__}.{member.name} = {int(member):#x} does not fit a "
                        f"{self.width}-bit field ({hi}:{lo})"
                    )

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner = owner.__name__

    @property
    def nv_name(self) -> str:
        """The field's name in NVIDIA's headers (after the register's name)."""
        return self.nv if self.nv is not None else self.name.rstrip("_").upper()

    @property
    def max(self) -> int:
        """Largest value the field can hold."""
        return (1 << self.width) - 1

    def get(self, value: int) -> int:
        """This field's value inside a register value."""
        return (value & self.mask) >> self.shift

    def is_set(self, value: int) -> bool:
        """True when any bit of this field is set in ``value`` (for 1-bit flags)."""
        return bool(value & self.mask)

    def check(self, field_value: int | bool | enum.IntEnum) -> int:
        """Validate a value for this field and return it as an int; refuse what does not fit."""
        if isinstance(field_value, int):  # bool and IntEnum members are ints too
            v = int(field_value)
        else:
            raise RegisterError(
                f"{self.owner}.{self.name}: value {field_value!r} is not an int, bool or enum member"
            )
        if not 0 <= v <= self.max:
            raise RegisterError(
                f"{self.owner}.{self.name} ({self.hi}:{self.lo}) is {self.width} bits wide; "
                f"value {v:#x} does not fit (max {self.max:#x})"
            )
        return v

    def put(self, value: int, field_value: int | bool | enum.IntEnum) -> int:
        """``value`` with this field replaced by ``field_value``."""
        return (value & ~self.mask) | (self.check(field_value) << self.shift)

    def symbolic(self, raw: int) -> int | enum.IntEnum:
        """``raw`` as a member of the field's enum when it names one, else the int."""
        if self.enum is not None:
            try:
                return self.enum(raw)
            except ValueError:
                return raw
        return raw

    def bits(self) -> str:
        return f"{self.hi}:{self.lo}" if self.hi != self.lo else f"{self.hi}:{self.hi}"

    def __repr__(self) -> str:
        return f"<Field {self.owner}.{self.name} {self.bits()} {self.access}>"


_CO_OPTIMIZED = 0x1  #: inspect.CO_OPTIMIZED (a function's code; importing inspect costs start-up time)
#: the class-body name under which :func:`_note_declaration` keeps the Fields it saw (removed from the class)
_SEEN = "__nova_fields_seen__"


def _note_declaration() -> None:
    """While a :class:`Field` is made inside a class body, remember every Field already bound there, by name.

    A name bound to two Fields in one class body (the second silently replacing the first) is then refused: here,
    as soon as a later Field is made, or by :meth:`Bitfield.__init_subclass__` when the body ends. (A metaclass
    namespace would see the assignment itself, but a class with a custom metaclass loses CPython's specialised
    attribute lookup, and every ``REG.read(bar)`` would pay for it.)
    """
    frame = sys._getframe(2)  # the code calling Field(...): _note_declaration <- Field.__init__ <- caller
    if frame.f_code.co_flags & _CO_OPTIMIZED:
        return  # a function, not a class body
    ns = frame.f_locals  # a class body's locals are its namespace
    if "__qualname__" not in ns:
        return  # module level
    seen: dict[str, Field] = ns.setdefault(_SEEN, {})
    for key, value in ns.items():
        if isinstance(value, Field):
            first = seen.setdefault(key, value)
            if first is not value:
                raise RegisterError(f"field {key!r} is declared twice in the same register")


class Bitfield:
    """A packed value of ``WIDTH`` bits made of named fields (no address).

    Subclass with ``width=`` (default 32) and :class:`Field` attributes. Used directly for page-table
    entries and descriptors; :class:`Register` adds an offset and MMIO verbs.
    """

    WIDTH: ClassVar[int] = 32
    FIELDS: ClassVar[tuple[Field, ...]] = ()
    NAME: ClassVar[str] = "Bitfield"
    DOC: ClassVar[str] = ""
    _BY_NAME: ClassVar[dict[str, Field]] = {}
    _RO_MASK: ClassVar[int] = 0
    _W1C_MASK: ClassVar[int] = 0
    _DECLARED_MASK: ClassVar[int] = 0

    def __init_subclass__(cls, width: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if width is not None:
            if width not in (8, 16, 32, 64, 128):
                raise RegisterError(f"{cls.__name__}: width {width} is not 8, 16, 32, 64 or 128")
            cls.WIDTH = width
        declared: dict[str, Field] | None = cls.__dict__.get(_SEEN)
        if declared is not None:
            delattr(cls, _SEEN)
            for key, first in declared.items():
                now = cls.__dict__.get(key)
                if isinstance(now, Field) and now is not first:
                    raise RegisterError(f"field {key!r} is declared twice in the same register")
        cls.NAME = cls.__name__
        cls.DOC = " ".join((cls.__doc__ or "").split())
        inherited = list(cls.FIELDS)
        own = [v for v in cls.__dict__.values() if isinstance(v, Field)]
        for f in own:  # a subclass may redeclare a field (a per-chip variant), never hide anything else
            if any(f.name in vars(base) and not isinstance(vars(base)[f.name], Field)
                   for base in cls.__mro__[1:] if base is not object):
                raise RegisterError(
                    f"{cls.__name__}: field name {f.name!r} hides the {f.name!r} attribute of "
                    f"{cls.__mro__[1].__name__}; name it {f.name + '_'!r}"
                )
        by_name: dict[str, Field] = {f.name: f for f in inherited}
        for f in own:
            by_name[f.name] = f
        fields = sorted(by_name.values(), key=lambda f: f.lo)
        seen = 0
        for f in fields:
            if f.hi >= cls.WIDTH:
                raise RegisterError(
                    f"{cls.__name__}.{f.name}: bits {f.bits()} do not fit a {cls.WIDTH}-bit register"
                )
            if seen & f.mask:
                other = next(g for g in fields if g is not f and g.mask & f.mask)
                raise RegisterError(
                    f"{cls.__name__}: field {f.name!r} ({f.bits()}) overlaps field {other.name!r} "
                    f"({other.bits()})"
                )
            seen |= f.mask
        cls.FIELDS = tuple(fields)
        cls._BY_NAME = {f.name: f for f in fields}
        cls._DECLARED_MASK = seen
        cls._RO_MASK = sum(f.mask for f in fields if f.access is RO)
        cls._W1C_MASK = sum(f.mask for f in fields if f.access is W1C)

    # -- fields ------------------------------------------------------------------------------------

    @classmethod
    def field(cls, name: str) -> Field:
        """The field called ``name`` (typed lookup with a did-you-mean on typos)."""
        try:
            return cls._BY_NAME[name]
        except KeyError:
            raise RegisterError(
                f"{cls.NAME} has no field {name!r}" + did_you_mean(name, cls._BY_NAME)
            ) from None

    @classmethod
    def check_value(cls, value: int) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < (1 << cls.WIDTH):
            raise RegisterError(f"{cls.NAME}: value {value!r} is not a {cls.WIDTH}-bit unsigned integer")
        return value

    @classmethod
    def encode(cls, value: int = 0, /, **fields: int | bool | enum.IntEnum) -> int:
        """Encode ``fields`` on top of ``value`` (default 0). Unknown names and misfits are refused."""
        v = cls.check_value(value)
        for name, fv in fields.items():
            v = cls.field(name).put(v, fv)
        return v

    @classmethod
    def decode(cls, value: int, *, symbolic: bool = False) -> dict[str, Any]:
        """``{field: value}`` for every declared field (enum members when ``symbolic``)."""
        v = cls.check_value(value)
        if symbolic:
            return {f.name: f.symbolic(f.get(v)) for f in cls.FIELDS}
        return {f.name: f.get(v) for f in cls.FIELDS}

    @classmethod
    def undeclared_bits(cls, value: int) -> int:
        """Bits set in ``value`` that no declared field covers."""
        return value & ~cls._DECLARED_MASK & ((1 << cls.WIDTH) - 1)

    @classmethod
    def describe(cls, value: int) -> str:
        """One line: ``field=value`` for each field (enum names where known), then stray bits."""
        parts = []
        for f in cls.FIELDS:
            raw = f.get(value)
            sym = f.symbolic(raw)
            parts.append(f"{f.name}={sym.name}" if isinstance(sym, enum.IntEnum) else f"{f.name}={raw:#x}")
        stray = cls.undeclared_bits(value)
        if stray:
            parts.append(f"(undeclared bits {stray:#x})")
        return " ".join(parts)


# -- engine-relative domains ------------------------------------------------------------------------


class Domain:
    """A block of registers that exists at several bases (one per engine instance).

    ``Domain("falcon", GSP=0x110000, SEC2=0x840000)``: a register declared with ``domain=FALCON`` and
    ``offset=0x100`` is read with ``REG.read(bar, base=FALCON.GSP)`` or ``base=engine.base``.
    """

    def __init__(self, name: str, /, **bases: int) -> None:
        self.name = name
        self.bases: dict[str, int] = dict(bases)

    def __getattr__(self, instance: str) -> int:
        bases = self.__dict__.get("bases", {})
        if instance in bases:
            return int(bases[instance])
        raise AttributeError(f"domain {self.__dict__.get('name')!r} has no instance {instance!r}"
                             + did_you_mean(instance, bases))

    def base(self, instance: str) -> int:
        try:
            return self.bases[instance]
        except KeyError:
            raise RegisterError(
                f"domain {self.name!r} has no instance {instance!r}" + did_you_mean(instance, self.bases)
            ) from None

    def instance_at(self, base: int) -> str | None:
        for k, v in self.bases.items():
            if v == base:
                return k
        return None

    def __repr__(self) -> str:
        inst = ", ".join(f"{k}={v:#x}" for k, v in self.bases.items())
        return f"<Domain {self.name} {inst}>"


# -- registers ---------------------------------------------------------------------------------------


#: keyword arguments of the register verbs (read/write/update/wait): no field may use these names
_VERB_KEYWORDS = frozenset({"base", "i", "clock", "timeout", "interval", "what"})


_R = TypeVar("_R", bound="Register")


class Register(Bitfield):
    """A 32-bit MMIO register: a :class:`Bitfield` with an offset (and optional domain and array).

    Class keywords: ``offset`` (byte offset, absolute or relative to the domain base), ``domain``
    (a :class:`Domain` for engine-relative registers), ``count``/``stride`` for arrays, ``reset``
    (value after reset, used by the simulated GPU), ``access`` (default access for a register without
    fields), ``chips`` (the register families that have it, see :func:`families`; all by default).

    A subclass of a declared register is a per-family *variant* of it (``chips=`` required; domain inherited;
    offset, count, stride and reset inherited unless given): see :meth:`for_family`.
    """

    OFFSET: ClassVar[int] = 0
    DOMAIN: ClassVar[Domain | None] = None
    COUNT: ClassVar[int | None] = None
    STRIDE: ClassVar[int] = 4
    RESET: ClassVar[int] = 0
    ACCESS: ClassVar[Access] = RW
    CHIPS: ClassVar[str] = ""
    FAMILIES: ClassVar[frozenset[str]] = frozenset(FAMILIES)  #: where this declaration applies
    VARIANT_OF: ClassVar[type[Register] | None] = None
    VARIANTS: ClassVar[tuple[type[Register], ...]] = ()
    _ABS: ClassVar[int | None] = None

    def __init_subclass__(cls, offset: int | None = None, domain: Domain | None = None,
                          count: int | None = None, stride: int | None = None, reset: int | None = None,
                          access: Access | None = None, chips: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for f in cls.FIELDS:
            if f.name in _VERB_KEYWORDS:
                raise RegisterError(
                    f"{cls.__name__}: field name {f.name!r} collides with the {f.name}= keyword of the "
                    f"register verbs; name it {f.name + '_'!r}"
                )
        parent = cls.__mro__[1]
        variant_of: type[Register] | None = None
        if issubclass(parent, Register) and parent is not Register and REGISTRY.by_name.get(parent.NAME) is parent:
            variant_of = parent
        if variant_of is not None:
            if domain is not None:
                raise RegisterError(f"{cls.__name__}: a variant of {variant_of.NAME} is in its domain; domain= is "
                                    f"not given again")
            if not chips:
                raise RegisterError(f"{cls.__name__}: a variant of {variant_of.NAME} needs chips= (the families "
                                    f"it applies to)")
            offset = variant_of.OFFSET if offset is None else offset
            domain = variant_of.DOMAIN
            count = variant_of.COUNT if count is None else count
            stride = variant_of.STRIDE if stride is None else stride
            reset = variant_of.RESET if reset is None else reset
        stride = 4 if stride is None else stride
        reset = 0 if reset is None else reset
        if offset is None:
            raise RegisterError(f"register {cls.__name__} has no offset")
        if cls.WIDTH != 32:
            raise RegisterError(f"register {cls.__name__}: MMIO registers are 32 bits, not {cls.WIDTH}")
        if offset < 0 or offset & 3:
            raise RegisterError(f"register {cls.__name__}: offset {offset:#x} is not 4-byte aligned")
        if count is not None and count < 1:
            raise RegisterError(f"register {cls.__name__}: array count {count} must be >= 1")
        if count is not None and (stride < 4 or stride & 3):
            raise RegisterError(f"register {cls.__name__}: stride {stride:#x} must be a multiple of 4")
        cls.OFFSET = offset
        cls.DOMAIN = domain
        cls.COUNT = count
        cls.STRIDE = stride
        cls.RESET = cls.check_value(reset)
        cls.CHIPS = chips
        cls.FAMILIES = families(chips)
        cls.VARIANTS = ()
        if access is not None:
            cls.ACCESS = access
        elif cls.FIELDS and all(f.access is RO for f in cls.FIELDS):
            cls.ACCESS = RO
        elif cls.FIELDS and all(f.access is WO for f in cls.FIELDS):
            cls.ACCESS = WO
        else:
            cls.ACCESS = RW
        cls._ABS = offset if domain is None and count is None else None
        cls.read = _make_read(cls)  # type: ignore[method-assign]
        if variant_of is None:
            cls.VARIANT_OF = None
            REGISTRY.add(cls)
            return
        cls.NAME = variant_of.NAME
        cls.VARIANT_OF = variant_of
        if not cls.FAMILIES <= variant_of.FAMILIES:
            raise RegisterError(f"{cls.__name__}: chips={chips!r} reaches beyond {variant_of.NAME}'s "
                                f"chips={variant_of.CHIPS!r}")
        for other in variant_of.VARIANTS:
            if other.FAMILIES & cls.FAMILIES:
                raise RegisterError(f"{cls.__name__}: chips={chips!r} overlaps variant {other.__name__} "
                                    f"(chips={other.CHIPS!r})")
        REGISTRY.add_variant(cls)
        variant_of.VARIANTS = (*variant_of.VARIANTS, cls)

    @classmethod
    def for_family(cls: type[_R], family: str) -> type[_R]:
        """This register as register family ``family`` has it: the variant declared for it, else itself.

        Raises:
            RegisterError: the family is unknown, or does not have this register (``chips=``).
        """
        if cls.VARIANT_OF is not None:
            raise RegisterError(f"{cls.__name__} is a variant; ask {cls.VARIANT_OF.__name__}.for_family()")
        for v in cls.VARIANTS:
            if family in v.FAMILIES:
                return cast("type[_R]", v)  # a variant is a subclass of cls
        if family not in cls.FAMILIES:
            if family not in FAMILIES:
                raise RegisterError(f"{family!r} is not a register family (one of {', '.join(FAMILIES)})"
                                    + did_you_mean(family, FAMILIES))
            raise RegisterError(f"{cls.NAME} does not exist on {family} (chips={cls.CHIPS!r})")
        return cls

    # -- addressing -----------------------------------------------------------------------------

    @classmethod
    def addr(cls, base: int | None = None, i: int | None = None) -> int:
        """Absolute BAR offset of this register (``base`` for relative ones, ``i`` for arrays)."""
        off = cls.OFFSET
        if cls.DOMAIN is not None:
            if base is None:
                raise RegisterError(
                    f"{cls.NAME} is relative to the {cls.DOMAIN.name} block; pass base= (one of "
                    + ", ".join(f"{k} {v:#x}" for k, v in cls.DOMAIN.bases.items()) + ")"
                )
            off += base
        elif base is not None:
            raise RegisterError(f"{cls.NAME} is at a fixed offset {cls.OFFSET:#x}; base= does not apply")
        if cls.COUNT is not None:
            if i is None:
                raise RegisterError(f"{cls.NAME} is an array of {cls.COUNT}; pass i=")
            if not 0 <= i < cls.COUNT:
                raise RegisterError(f"{cls.NAME}[{i}] is out of range (the array has {cls.COUNT} entries)")
            off += i * cls.STRIDE
        elif i is not None:
            raise RegisterError(f"{cls.NAME} is not an array; i= does not apply")
        return off

    # -- MMIO verbs -----------------------------------------------------------------------------

    @classmethod
    def read(cls, bar: Bar, *, base: int | None = None, i: int | None = None) -> int:
        """Read the raw 32-bit value.

        (Each register replaces this with a function made for it when its class is created: see
        :func:`_make_read`. This body is the reference behaviour.)
        """
        return bar.read32(cls.addr(base, i))

    @classmethod
    def write(cls, bar: Bar, value: int | None = None, /, *, base: int | None = None,
              i: int | None = None, **fields: int | bool | enum.IntEnum) -> int:
        """Write ``value`` (default 0) with ``fields`` encoded on top; returns what was written.

        Read-only registers and read-only fields are refused (hardware would drop the write).
        """
        return cls._write_at(bar, cls.addr(base, i), value, fields)

    @classmethod
    def update(cls, bar: Bar, *, base: int | None = None, i: int | None = None,
               **fields: int | bool | enum.IntEnum) -> int:
        """Read-modify-write the named fields; returns the value written.

        Write-1-to-clear bits read as 1 are *not* written back (that would clear them by accident),
        unless they are among the named fields.
        """
        return cls._update_at(bar, cls.addr(base, i), fields)

    @classmethod
    def wait(cls, bar: Bar, clock: Clock, *, timeout: int, interval: int = 10_000,
             base: int | None = None, i: int | None = None, what: str | None = None,
             **fields: int | bool | enum.IntEnum) -> int:
        """Poll until every named field equals its given value; returns the register value.

        Raises:
            PollTimeout: naming the register, the fields awaited and the last value read.
        """
        return cls._wait_at(bar, cls.addr(base, i), clock, timeout, interval, what, fields)

    @classmethod
    def bind(cls, bar: Bar, *, base: int | None = None, i: int | None = None) -> BoundRegister:
        """This register at one location of one BAR, for hot paths: ``cpuctl = CPUCTL.bind(bar, base=b)``.

        On buffer-backed BARs ``bound.read()`` is one C-level call of the raw ``memoryview`` read: within 1.5x of
        that read made as a zero-argument call, 2.5x an inline ``words[i]`` (``./dev bench regs``)."""
        return BoundRegister(cls, bar, cls.addr(base, i))

    # -- shared by the class verbs and BoundRegister --------------------------------------------

    @classmethod
    def _check_writable(cls, fields: Mapping[str, object]) -> None:
        if cls.ACCESS is RO:
            raise RegisterError(f"{cls.NAME} is read-only; it cannot be written")
        for name in fields:
            if cls.field(name).access is RO:
                raise RegisterError(f"{cls.NAME}.{name} is read-only; it cannot be written")

    @classmethod
    def _write_at(cls, bar: Bar, off: int, value: int | None,
                  fields: Mapping[str, int | bool | enum.IntEnum]) -> int:
        cls._check_writable(fields)
        v = cls.encode(0 if value is None else value, **fields)
        bar.write32(off, v)
        return v

    @classmethod
    def _update_at(cls, bar: Bar, off: int, fields: Mapping[str, int | bool | enum.IntEnum]) -> int:
        cls._check_writable(fields)
        v = cls.encode(bar.read32(off) & ~cls._W1C_MASK, **fields)
        bar.write32(off, v)
        return v

    @classmethod
    def _wait_at(cls, bar: Bar, off: int, clock: Clock, timeout: int, interval: int, what: str | None,
                 fields: Mapping[str, int | bool | enum.IntEnum]) -> int:
        from ..hw.poll import poll_timeout

        want = [(cls.field(n), cls.field(n).check(v)) for n, v in fields.items()]
        loc = REGISTRY.lookup(off)
        where = loc.label if loc is not None and loc.register is cls else f"{cls.NAME}@{off:#x}"
        desc = what or f"{where} " + ", ".join(f"{f.name}={v:#x}" for f, v in want)
        return poll_timeout(lambda: bar.read32(off), lambda v: all(f.get(v) == x for f, x in want),
                            clock=clock, timeout=timeout, interval=interval, what=desc)

    @classmethod
    def locations(cls) -> Iterator[tuple[int, str | None, int | None]]:
        """Every absolute offset of this register: ``(offset, instance name, array index)``."""
        bases: list[tuple[str | None, int]] = (
            [(None, 0)] if cls.DOMAIN is None else list(cls.DOMAIN.bases.items())
        )
        indices: list[int | None] = [None] if cls.COUNT is None else list(range(cls.COUNT))
        for inst, b in bases:
            for idx in indices:
                yield b + cls.OFFSET + (0 if idx is None else idx * cls.STRIDE), inst, idx

    @classmethod
    def summary(cls) -> str:
        where = f"{cls.OFFSET:#08x}"
        if cls.DOMAIN is not None:
            where = f"{cls.DOMAIN.name}+{cls.OFFSET:#05x}"
        if cls.COUNT is not None:
            where += f"+{cls.STRIDE:#x}*i (i<{cls.COUNT})"
        return f"{cls.NAME} @ {where}"


def _make_read(cls: type[Register]) -> Callable[..., int]:
    """The ``read`` verb of ``cls``, made when the class is created (as the seed's ``register!`` macro expands
    to constants and inline accessors): the absolute offset of a fixed register, and that of an engine-relative
    one at each base of its domain, are computed once; an access with any other ``base``/``i`` goes through
    :meth:`Register.addr`, which validates it and names what is wrong.

    The function's ``base``/``i`` are positional-or-keyword, not keyword-only as the declared verb's: CPython
    calls a function without keyword-only parameters through its fast path (the declared signature is what
    callers are type-checked against).

    On a buffer-backed BAR (one whose ``words32`` is a memoryview of 32-bit words) the word is loaded directly,
    one aligned 32-bit load as ``read32`` does; on any other BAR (the simulated register file, a recorder) the
    read is ``bar.read32(offset)``, so every access still reaches the BAR's own hooks and checks.
    """
    addr = cls.addr
    # Two shapes of the same body, on purpose: a fixed register needs no lookup of its offset (a shared helper, or
    # the general form's dict, would cost a call or a lookup on every read - what this function exists to avoid).
    if cls.DOMAIN is None and cls.COUNT is None:
        fixed = cls.OFFSET
        index = fixed >> 2

        def read(bar: Bar, base: int | None = None, i: int | None = None) -> int:
            if base is None and i is None:
                try:
                    words: memoryview | None = bar.words32  # type: ignore[attr-defined]
                except AttributeError:
                    return bar.read32(fixed)
                if words is not None:
                    try:
                        return words[index]
                    except IndexError:
                        pass  # past a small BAR: read32 raises the BAR's error
                return bar.read32(fixed)
            return bar.read32(addr(base, i))
    else:
        at = {} if cls.COUNT is not None or cls.DOMAIN is None else {
            b: b + cls.OFFSET for b in cls.DOMAIN.bases.values()}

        def read(bar: Bar, base: int | None = None, i: int | None = None) -> int:
            off = at.get(base) if i is None else None  # type: ignore[arg-type]
            if off is None:
                off = addr(base, i)
            try:
                words: memoryview | None = bar.words32  # type: ignore[attr-defined]
            except AttributeError:
                return bar.read32(off)
            if words is not None:
                try:
                    return words[off >> 2]
                except IndexError:
                    pass
            return bar.read32(off)

    read.__name__ = read.__qualname__ = "read"
    read.__doc__ = f"Read the raw 32-bit value of {cls.__name__}."
    return read


class BoundRegister:
    """A register at one offset of one BAR (see :meth:`Register.bind`).

    ``read`` is a prebuilt C-level callable on buffer-backed BARs (those whose ``words32`` is a memoryview):
    ``operator.getitem(words, index)`` through ``functools.partial``, no Python frame; ``bar.read32(offset)``
    otherwise. The other verbs match the class verbs.
    """

    __slots__ = ("bar", "offset", "read", "reg")

    read: Callable[[], int]

    def __init__(self, reg: type[Register], bar: Bar, offset: int) -> None:
        self.reg = reg
        self.bar = bar
        self.offset = offset
        words = getattr(bar, "words32", None)
        if words is not None and offset >= 0 and offset + 4 <= bar.size and not offset & 3:
            self.read = functools.partial(operator.getitem, words, offset >> 2)  # type: ignore[assignment]
        else:
            self.read = functools.partial(bar.read32, offset)

    def write(self, value: int | None = None, /, **fields: int | bool | enum.IntEnum) -> int:
        return self.reg._write_at(self.bar, self.offset, value, fields)

    def update(self, **fields: int | bool | enum.IntEnum) -> int:
        return self.reg._update_at(self.bar, self.offset, fields)

    def wait(self, clock: Clock, *, timeout: int, interval: int = 10_000, what: str | None = None,
             **fields: int | bool | enum.IntEnum) -> int:
        return self.reg._wait_at(self.bar, self.offset, clock, timeout, interval, what, fields)

    def decode(self) -> dict[str, Any]:
        return self.reg.decode(self.read())

    def __repr__(self) -> str:
        return f"<BoundRegister {self.reg.NAME} @ {self.offset:#x}>"


class Window:
    """A range of BAR space that is memory rather than registers (the PROM window, PRAMIN)."""

    def __init__(self, name: str, start: int, size: int, doc: str = "") -> None:
        self.name = name
        self.start = start
        self.size = size
        self.doc = doc
        REGISTRY.add_window(self)

    def __contains__(self, offset: int) -> bool:
        return self.start <= offset < self.start + self.size

    def __repr__(self) -> str:
        return f"<Window {self.name} [{self.start:#x}, {self.start + self.size:#x})>"


# -- the registry ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Answer of a reverse lookup: which register (instance, index) lives at an offset."""

    register: type[Register]
    offset: int
    instance: str | None = None
    index: int | None = None

    @property
    def label(self) -> str:
        name = self.register.NAME
        if self.index is not None:
            name += f"({self.index})"
        if self.instance is not None:
            name = f"{self.instance}.{name}"
        return name

    @property
    def base(self) -> int | None:
        dom = self.register.DOMAIN
        return None if dom is None or self.instance is None else dom.bases[self.instance]


class Registry:
    """Every declared register and window, by name and by absolute offset."""

    def __init__(self) -> None:
        self.by_name: dict[str, type[Register]] = {}
        self.by_offset: dict[int, Location] = {}
        self.windows: list[Window] = []
        self._window_starts: list[int] = []

    def add(self, reg: type[Register]) -> None:
        if reg.NAME in self.by_name:
            prev = self.by_name[reg.NAME]
            raise RegisterError(
                f"register {reg.NAME} declared twice ({prev.__module__} and {reg.__module__})"
            )
        new: dict[int, Location] = {}
        for off, inst, idx in reg.locations():
            clash = self.by_offset.get(off) or new.get(off)
            if clash is not None:
                raise RegisterError(
                    f"register {reg.NAME} at {off:#x} overlaps {clash.label} declared in "
                    f"{clash.register.__module__}"
                )
            win = self.window_at(off)
            if win is not None:
                raise RegisterError(f"register {reg.NAME} at {off:#x} lies inside window {win.name}")
            new[off] = Location(reg, off, inst, idx)
        self.by_offset.update(new)
        self.by_name[reg.NAME] = reg

    def add_variant(self, reg: type[Register]) -> None:
        """A per-family variant: its locations the register lacks (a longer array, another offset) become its own."""
        base = reg.VARIANT_OF
        new: dict[int, Location] = {}
        for off, inst, idx in reg.locations():
            clash = self.by_offset.get(off)
            if clash is not None and base is not None and base in (clash.register, clash.register.VARIANT_OF):
                continue
            if clash is not None or self.window_at(off) is not None:
                raise RegisterError(f"variant {reg.__name__} at {off:#x} overlaps "
                                    f"{clash.label if clash else self.window_at(off)}")
            new[off] = Location(reg, off, inst, idx)
        self.by_offset.update(new)

    def add_window(self, win: Window) -> None:
        for other in self.windows:
            if win.start < other.start + other.size and other.start < win.start + win.size:
                raise RegisterError(f"window {win.name} overlaps window {other.name}")
        inside = [loc for off, loc in self.by_offset.items() if win.start <= off < win.start + win.size]
        if inside:
            raise RegisterError(f"window {win.name} covers register {inside[0].label}")
        i = bisect.bisect(self._window_starts, win.start)
        self._window_starts.insert(i, win.start)
        self.windows.insert(i, win)

    def window_at(self, offset: int) -> Window | None:
        i = bisect.bisect(self._window_starts, offset) - 1
        if i >= 0 and offset in self.windows[i]:
            return self.windows[i]
        return None

    def lookup(self, offset: int) -> Location | None:
        """The register at absolute BAR offset ``offset`` (None if none is declared there)."""
        return self.by_offset.get(offset)

    def get(self, name: str) -> type[Register]:
        """A register by exact name (case-insensitive), with a did-you-mean on failure."""
        reg = self.by_name.get(name) or self.by_name.get(name.upper())
        if reg is not None:
            return reg
        up = name.upper()
        suffix = [r for n, r in sorted(self.by_name.items()) if n.endswith("_" + up)]
        if len(suffix) == 1:
            return suffix[0]
        matches = suffix or self.find(name)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise RegisterError(f"{name!r} is ambiguous: it matches " + ", ".join(r.NAME for r in matches))
        raise RegisterError(f"no register named {name!r}" + did_you_mean(up, self.by_name))

    def find(self, pattern: str) -> list[type[Register]]:
        """Registers whose name matches ``pattern``: a glob, or a case-insensitive substring."""
        pat = pattern.upper()
        if not any(c in pat for c in "*?["):
            pat = f"*{pat}*"
        return [r for n, r in sorted(self.by_name.items()) if fnmatch.fnmatchcase(n, pat)]

    def __len__(self) -> int:
        return len(self.by_name)

    def __iter__(self) -> Iterator[type[Register]]:
        return iter(self.by_name.values())


REGISTRY = Registry()
