"""UTM tagging, pure: a team's taxonomy, fixing one value, fixing the utm_* pairs of a URL.

No CRM and no jobs here; the `utm_fix` planner in `agents/` builds on these.
"""

from tools.utm.taxonomy import (
    Taxonomy,
    TaxonomyConfig,
    TaxonomyError,
    load_taxonomy,
    parse_taxonomy,
)
from tools.utm.url import UrlFix, UtmChange, UtmDecision, encode_component, fix_url
from tools.utm.values import Fixed, NeedsDecision, check_required, fix_value

__all__ = [
    "Fixed",
    "NeedsDecision",
    "Taxonomy",
    "TaxonomyConfig",
    "TaxonomyError",
    "UrlFix",
    "UtmChange",
    "UtmDecision",
    "check_required",
    "encode_component",
    "fix_url",
    "fix_value",
    "load_taxonomy",
    "parse_taxonomy",
]
