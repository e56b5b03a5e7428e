"""BI-RADS assessment -> benign / malignant, for malignancy classes.

A detector with ``classes=('benign_mass', 'malignant_mass')`` needs a
malignancy for every mass box. Neither INbreast nor VinDr-Mammo ships
pathology for every lesion, so the class comes from the BI-RADS assessment
(ACR BI-RADS Atlas, 5th edition), as in the published INbreast results that
report benign and malignant sensitivity separately:

========================  =========================  ====================
BI-RADS (normalised)      meaning                    default malignancy
========================  =========================  ====================
``'2'``, ``'3'``          benign, probably benign    ``'benign'``
``'4'``, ``'4a'``,        suspicious (4 without a    ``'malignant'``
``'4b'``, ``'4c'``        letter counts as 4a+)
``'5'``                   highly suggestive          ``'malignant'``
``'6'``                   biopsy-proven malignancy   ``'malignant'``
``'0'``                   incomplete, needs imaging  unknown
``'1'``                   negative (a boxed lesion   unknown
                          with BI-RADS 1 is a
                          contradiction)
missing / unparsable      no assessment              unknown
========================  =========================  ====================

What happens to a box of unknown malignancy is :attr:`MalignancyRule.unknown`:
``'ignore'`` (default) keeps it as an ``ignore_flag=1`` instance: neither a
hit nor a false positive in :class:`FROCMetric`, not a positive in training;
``'skip'`` leaves the box out. Either way the dataset's summary line counts
such boxes. Both thresholds are configurable (``MalignancyRule(benign=('2',),
malignant=('3', '4', ...))``).

INbreast reads the image's ``Bi-Rads`` column (``'4a'``); VinDr-Mammo the
finding's ``finding_birads`` (``'BI-RADS 4'``). :func:`normalize_birads`
brings both to the same spelling.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

#: Prefixes of the class names that select a malignancy.
MALIGNANCIES = ('benign', 'malignant')

_BIRADS_RE = re.compile(r'^(?:bi-?rads)?\s*([0-6])\s*([abc])?$')


def normalize_birads(value: object) -> str | None:
    """One spelling for a BI-RADS assessment.

    Args:
        value (object): As written in a release: ``'BI-RADS 4'``,
            ``'4a'``, ``' 4A '``, ``'BIRADS 5'``, ``4``, ``''``, None.

    Returns:
        str | None: ``'0'`` ... ``'6'`` with a lower-case letter for the 4
        subcategories (``'4a'``), or None when empty or not a BI-RADS value.

    Example:
        >>> normalize_birads('BI-RADS 4'), normalize_birads(' 4A ')
        ('4', '4a')
    """
    if value is None:
        return None
    text = ' '.join(str(value).split()).lower()
    m = _BIRADS_RE.match(text)
    if m is None:
        return None
    return m.group(1) + (m.group(2) or '')


def birads_category(birads: str | None) -> int | None:
    """The numeric category of a normalised BI-RADS (``'4a'`` -> 4)."""
    return int(birads[0]) if birads else None


@dataclass(frozen=True)
class MalignancyRule:
    """Which BI-RADS values are benign and which malignant.

    Args:
        benign (tuple[str, ...]): Normalised BI-RADS values read as benign.
            Defaults to ``('2', '3')``.
        malignant (tuple[str, ...]): Values read as malignant. Defaults to
            ``('4', '4a', '4b', '4c', '5', '6')`` (4a and above).
        unknown (str): What to do with a box whose BI-RADS is in neither
            list (0, 1, missing): ``'ignore'`` (an ``ignore_flag=1``
            instance) or ``'skip'`` (leave the box out). Defaults to
            ``'ignore'``.
    """
    benign: tuple[str, ...] = ('2', '3')
    malignant: tuple[str, ...] = ('4', '4a', '4b', '4c', '5', '6')
    unknown: str = 'ignore'

    def __post_init__(self) -> None:
        benign = tuple(normalize_birads(b) or str(b) for b in self.benign)
        malignant = tuple(
            normalize_birads(b) or str(b) for b in self.malignant)
        bad = [b for b in benign + malignant if normalize_birads(b) is None]
        if bad:
            raise ValueError(f'MalignancyRule: {bad} are not BI-RADS values '
                             "('0'-'6', '4a'-'4c')")
        both = sorted(set(benign) & set(malignant))
        if both:
            raise ValueError(
                f'MalignancyRule: BI-RADS {both} listed as both benign and '
                'malignant; give each value one side')
        if self.unknown not in ('ignore', 'skip'):
            raise ValueError(f"MalignancyRule: unknown must be 'ignore' or "
                             f"'skip', got {self.unknown!r}")
        object.__setattr__(self, 'benign', benign)
        object.__setattr__(self, 'malignant', malignant)

    @classmethod
    def build(cls, cfg: 'MalignancyRule | dict | None') -> 'MalignancyRule':
        """A rule from a config dict (``dict(benign=..., malignant=...)``),
        a rule, or None (the defaults)."""
        if cfg is None:
            return cls()
        if isinstance(cfg, cls):
            return cfg
        return cls(**{k: tuple(v) if isinstance(v, (list, tuple)) else v
                      for k, v in dict(cfg).items()})

    def classify(self, birads: object) -> str | None:
        """``'benign'``, ``'malignant'`` or None (unknown) for a BI-RADS
        value in any spelling :func:`normalize_birads` reads."""
        b = normalize_birads(birads)
        if b is None:
            return None
        if b in self.malignant:
            return 'malignant'
        if b in self.benign:
            return 'benign'
        return None


def split_class_name(name: str) -> tuple[str | None, str]:
    """``'malignant_mass'`` -> ``('malignant', 'mass')``; ``'mass'`` ->
    ``(None, 'mass')``."""
    for m in MALIGNANCIES:
        if name.startswith(m + '_'):
            return m, name[len(m) + 1:]
    return None, name


def box_labels(categories: Iterable[str], birads: object,
               classes: Sequence[str],
               rule: 'MalignancyRule | None' = None
               ) -> tuple[list[str], str | None]:
    """The classes one box counts for, for any release.

    A class without a malignancy prefix (``'mass'``) takes every box of
    that category; ``'benign_mass'`` / ``'malignant_mass'`` take a mass box
    whose BI-RADS (the finding's for VinDr-Mammo, the image's for INbreast)
    the rule reads as benign / malignant. A box of a selected category
    whose malignancy is unknown counts for no class; the first
    malignancy class of that category is returned separately: the caller
    keeps the box as an ignored instance of it when ``rule.unknown ==
    'ignore'`` and leaves the box out when ``'skip'``.

    Args:
        categories (Iterable[str]): Category classes of the box
            (``{'mass', 'suspicious_calcification'}``).
        birads (object): Its BI-RADS, any spelling.
        classes (Sequence[str]): The dataset's class names.
        rule (MalignancyRule, optional): Defaults to ``MalignancyRule()``.

    Returns:
        tuple[list[str], str | None]: Classes the box counts for, in class
        order; and the class of unknown malignancy, or None.

    Example:
        >>> box_labels({'mass'}, 'BI-RADS 5', ('benign_mass',
        ...                                    'malignant_mass'))
        (['malignant_mass'], None)
    """
    rule = rule or MalignancyRule()
    categories = set(categories)
    labels: list[str] = []
    unknown = None
    found = None
    for name in classes:
        malignancy, category = split_class_name(name)
        if category not in categories:
            continue
        if malignancy is None:
            labels.append(name)
            continue
        if found is None:
            found = rule.classify(birads) or ''
        if found == malignancy:
            labels.append(name)
        elif not found and unknown is None:
            unknown = name
    return labels, unknown
