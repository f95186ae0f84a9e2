"""The finance vocabulary added to VADER: words, phrases, rewrite rules and neutral words.

VADER's lexicon was rated on social media, where "shares", "trust", "energy" or "interest"
are warm words and "slide", "tumble" or "halt" carry nothing; in a headline they are the
story.  Valences are on VADER's -4..+4 scale.  Three kinds of entries:

* ``FINANCE_LEXICON``: single words and fixed phrases (phrases are joined into one token
  before scoring, so "cuts guidance" counts once, as a whole);
* ``REWRITES``: rules for what a fixed phrase cannot say: a verb and its object a few words
  apart ("raises full-year revenue guidance"), "fails to X" read as a negation of X;
* ``NEUTRAL_WORDS``: words VADER colours that are names or plain nouns in finance
  ("Energy", "Trust", "shares", "credit", "debt"), taken out of the lexicon.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def _group(valence: float, words: str) -> dict[str, float]:
    return {w.replace("_", " "): valence for w in words.split()}


#: Finance words and phrases with their valence (-4 very negative .. +4 very positive);
#: an underscore in a group below stands for a space in the phrase.
FINANCE_LEXICON: dict[str, float] = {
    # -- price moves -----------------------------------------------------------------------
    **_group(-2.0, "slide slides slid sliding tumble tumbles tumbled tumbling plunge plunges "
                   "plunged plunging sink sinks sank sinking slump slumps slumped slumping "
                   "tank tanks tanked crater craters cratered plummet plummets plummeted "
                   "dive dives dived dove nosedive nosedives selloff sell-off rout"),
    **_group(-1.8, "drop drops dropped dropping fall falls fell falling skid skids skidded "
                   "retreat retreats retreated decline declines declined declining slip slips "
                   "slipped sag sags sagged"),
    **_group(-1.2, "dip dips dipped shrink shrinks shrank shrinking "
                   "weakens wane wanes waning stall stalls stalled slows slowing slower"),
    **_group(2.0, "surge surges surged surging soar soars soared soaring rocket rockets "
                  "rocketed skyrocket skyrockets skyrocketed leap leaps leapt leaped spike "
                  "spikes spiked"),
    **_group(1.8, "jump jumps jumped jumping rally rallies rallied rallying climb climbs "
                  "climbed climbing rise rises rose rising pop pops popped advance advances "
                  "rebound rebounds rebounded bounce bounces bounced recover "
                  "recovers recovered"),
    **_group(1.2, "gain gains gained grow grows grew growing accelerate accelerates "
                  "accelerated accelerating doubles doubled triples tripled pick_up picks_up "
                  "picked_up pares_losses"),
    "pares gains": -1.0, "falls flat": -1.8, "fall flat": -1.8, "fell flat": -1.8,
    "record high": 2.2, "all-time high": 2.2, "52-week high": 2.0, "best day": 2.0,
    "record low": -2.2, "all-time low": -2.2, "52-week low": -2.0, "worst day": -2.0,
    # neutral framing: the move word decides, not the trading that carried it; and idioms
    # whose words would read as a move ("a deep dive into", "think tank")
    **_group(0.0, "heavy_trading heavy_volume active_trading little_changed "
                  "in_line record_date deep_dive think_tank this_fall in_the_fall "
                  "in_advance soft_drink soft_drinks soft_launch"),
    "soft landing": 1.0, "beaten down": -1.0, "beaten-down": -1.0,
    # -- results ---------------------------------------------------------------------------
    **_group(2.0, "beat beats beating beaten top_estimates tops topped topping exceed "
                  "exceeds exceeded exceeding blowout crush_estimates crushes_estimates "
                  "ahead_of_estimates ahead_of_expectations ahead_of_forecasts "
                  "ahead_of_consensus above_estimates above_expectations above_consensus "
                  "better-than-expected stronger-than-expected"),
    **_group(-2.0, "miss misses missed missing shortfall fall_short falls_short fell_short "
                   "falling_short below_estimates below_expectations below_forecasts "
                   "below_consensus worse-than-expected weaker-than-expected"),
    **_group(2.2, "record_revenue record_profit record_sales return_to_profit "
                  "returns_to_profit returned_to_profit swings_to_profit swings_to_a_profit "
                  "swung_to_profit swung_to_a_profit back_in_the_black"),
    **_group(-2.2, "swings_to_a_loss swings_to_loss swung_to_a_loss swung_to_loss "
                   "wider_loss loss_widens losses_widen widens_loss bigger_loss"),
    **_group(1.2, "narrower_loss loss_narrows losses_narrow narrows_loss"),
    "record": 1.5, "profit": 1.0, "profits": 1.0, "profitable": 1.5, "disappointing": -2.3,
    "profit warning": -2.8, "net loss": -1.8, "writedown": -2.0, "write-down": -2.0,
    "impairment": -1.8, "charge_taken": -1.5, "restate": -2.0, "restates": -2.0,
    "restatement": -2.2, "underwhelm": -1.8, "underwhelms": -1.8, "disappoint": -1.8,
    "disappoints": -1.8, "upbeat": 1.8, "robust": 1.5, "solid": 1.0, "lackluster": -1.8,
    "sluggish": -1.6, "soft": -1.0, "softer": -1.2, "bleak": -1.8, "glut": -1.6,
    "slowing growth": -1.8, "slower growth": -1.8,
    # margins, costs and losses: which way the quantity went says whether it is good news
    **_group(1.8, "margins_widen margins_expand expands_margins margin_expansion "
                  "wider_margins"),
    **_group(-1.8, "margins_contract margins_shrink margin_squeeze margin_pressure "
                   "narrower_margins costs_mount cost_overruns"),
    # -- analysts --------------------------------------------------------------------------
    "upgrade": 2.2, "upgrades": 2.2, "upgraded": 2.2, "outperform": 1.8, "overweight": 1.5,
    "downgrade": -2.2, "downgrades": -2.2, "downgraded": -2.2, "underperform": -1.8,
    "underweight": -1.5, "price target raised": 1.8, "price target cut": -1.8,
    "raises price target": 1.8, "cuts price target": -1.8, "rating cut": -2.0,
    "price target increase": 1.8, "junk": -2.0,
    # -- guidance and outlook (a verb before its object: see REWRITES) ---------------------
    "outlook_up": 2.4, "outlook_down": -2.4, "deal_won": 1.8, "expectations_beaten": 1.8,
    "expectations_missed": -1.8, "cost_up": -1.5, "cost_down": 1.2, "losses_up": -1.8,
    "pct_up": 1.2, "pct_down": -1.2, "moves_higher": 1.5,
    "moves_lower": -1.5, "guidance cut": -2.6, "guidance raise": 2.4, "guidance raised": 2.4,
    "weak outlook": -2.2, "strong outlook": 2.0, "headwinds": -1.4, "tailwinds": 1.4,
    "warn": -1.8, "warns": -1.8, "warned": -1.8, "warning": -1.8,
    # -- corporate events ------------------------------------------------------------------
    **_group(-2.0, "lawsuit lawsuits sued sues class_action probe probes probed "
                   "investigation inquiry subpoena subpoenaed penalty fine fined "
                   "short_seller short-seller recall recalls recalled halt halts halted "
                   "halting suspend suspends suspended suspension default defaults "
                   "defaulted going-concern delisting delisted"),
    **_group(-1.6, "layoffs lay_off lays_off laid_off job_cuts delay delays delayed "
                   "postpone postpones postponed alleging alleged allegations accused "
                   "grounds_fleet grounded lapse outage breach hacked cancels cancelled "
                   "canceled"),
    **_group(-1.2, "resigns resigned quits quit departure ousted restructuring inflated "
                   "crunch hit_with hit_by"),
    **_group(-1.6, "sudden_exit sudden_departure"),
    "fraud": -3.0, "bankruptcy": -3.2, "bankrupt": -3.2, "chapter 11": -3.0,
    "insolvency": -3.0, "dividend cut": -2.2, "dividend suspension": -2.4,
    **_group(1.8, "approval approved approves clears cleared breakthrough buyback "
                  "buybacks dividend_increase dividend_hike meets_primary_endpoint "
                  "met_primary_endpoint meets_main_goal met_main_goal meets_its_main_goal "
                  "met_its_main_goal endpoint_met"),
    **_group(1.5, "deal_premium takeover buyout bumper exemption settles_lawsuit "
                  "settling_lawsuit settled_lawsuit"),
    "repurchase": 1.2, "acquisition": 0.8, "partnership": 1.0, "activist": 0.8,
    "ahead of schedule": 1.2, "bullish": 1.8, "bearish": -1.8, "volatile": -0.6,
}

#: Words VADER scores that are names or plain nouns in finance headlines ("Duke Energy",
#: "SPDR ... Trust", "shares slide", "debt refinancing", "cancer drug", "safety recall").
NEUTRAL_WORDS: frozenset[str] = frozenset(
    "share shares trust trusts energy united care advanced limited wells treasury credit "
    "interest security securities dynamic dynamics adventure friendly effective holiday "
    "flagship defense safety crude cancer catastrophe value demand join joins awaits "
    "straight reach reaches verdict worth debt extend extends surprise top active".split())

_UP = "raise raises raised raising lift lifts lifted lifting boost boosts boosted boosting " \
      "hike hikes hiked increase increases increased ups upped reinstate reinstates " \
      "reinstated restore restores restored"
_DOWN = "cut cuts cutting lower lowers lowered lowering slash slashes slashed reduce reduces " \
        "reduced trim trims trimmed withdraw withdraws withdrew pull pulls pulled suspend " \
        "suspends suspended scrap scraps scrapped"
_TARGETS = "guidance forecast forecasts outlook target targets view dividend payout " \
           "distribution buyback"
_DEAL_VERBS = "win wins won land lands landed secure secures secured award awarded sign " \
              "signs signed ink inks inked clinch clinches clinched reach reaches reached"
_DEALS = "contract contracts deal deals order orders agreement pact financing"


def trie_pattern(words: list[str] | tuple[str, ...]) -> str:
    """Return a regex matching any of ``words`` (lower case), as a trie: one branch per letter.

    Python's ``re`` tries the arms of a plain alternation one by one at every position; the
    trie form decides on the first letter, about 15x faster for the phrase list.
    """
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w.lower():
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        if list(node) == [""]:
            return ""
        arms = [re.escape(ch) + build(node[ch]) for ch in sorted(k for k in node if k)]
        body = arms[0] if len(arms) == 1 else "(?:" + "|".join(arms) + ")"
        if "" in node:  # a word ends here and longer ones go on
            body = f"(?:{body})?"
        return body

    return build(trie)


def _alt(words: str) -> str:
    return trie_pattern(words.split())


# A word with no clause break (comma, semicolon, colon, full stop) in or after it; a dot
# inside one ("$1.2") is no break.
_WORD = r"(?:[^\s,;:.]|\.(?=\S))+"


# Up to ``n`` words in between.
def _gap(n: int) -> str:
    return rf"((?:\s+{_WORD}){{0,{n}}}?)"


Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _rule(pattern: str, repl: str | Callable[[re.Match[str]], str]) -> Rule:
    if isinstance(repl, str):  # a callable skips re's per-call template parsing (2x faster)
        template = repl
        repl = lambda m: m.expand(template)  # noqa: E731
    return re.compile(pattern, re.IGNORECASE), repl


#: Applied in order, before phrases are joined; each names the finance reading it encodes.
REWRITES: tuple[Rule, ...] = (
    # "fails to win approval": what follows did not happen (VADER negates after "not").
    _rule(r"\b(fail|fails|failed|failing|unable|unlikely)\s+to\b", r"\1 not"),
    _rule(r"\bno\s+longer\b", "not"),
    # "has no plans to cut", "rules out layoffs", "avoids downgrade": the threat is off
    _rule(r"\b(?:has\s+)?no\s+plans?\s+to\b", "not"),
    _rule(r"\b(?:rule|rules|ruled|ruling)\s+out\b", "not"),
    _rule(r"\b(?:avoid|avoids|avoided|avoiding|escape|escapes|escaped|avert|averts|averted|"
          r"averting|sidestep|sidesteps|sidestepped)\b", "not"),
    # "slides even as results top estimates": the move is the news (VADER negates after
    # "despite", so the contrary fact counts against it)
    _rule(r"\beven\s+(?:as|though)\b", "despite"),
    # a verb raising or cutting a forecast, dividend or buyback a few words before it
    # ("raises $1.5 billion to target AI": "to target" is a verb, no forecast)
    _rule(rf"\b(?:{_alt(_UP)})\b{_gap(3)}\s+(?<!\bto )({_alt(_TARGETS)})\b",
          r"outlook_up\1 \2"),
    _rule(rf"\b(?:{_alt(_DOWN)})\b{_gap(3)}\s+(?<!\bto )({_alt(_TARGETS)})\b",
          r"outlook_down\1 \2"),
    _rule(rf"\b({_alt(_TARGETS)})\s+(?:hike|increase|boost|raise|raised|lifted)\b",
          r"\1 outlook_up"),
    _rule(rf"\b({_alt(_TARGETS)})\s+(?:reduction|lowered|slashed|withdrawn|scrapped)\b",
          r"\1 outlook_down"),
    # "lands $2 billion Pentagon deal", "reaches agreement with pilots"; not "signs of
    # weakness in orders"; "strikes" only right before its deal ("pilots strike over contract")
    _rule(rf"\b(?:{_alt(_DEAL_VERBS)})\b(?!\s+of\b){_gap(4)}\s+({_alt(_DEALS)})\b",
          r"deal_won\1 \2"),
    _rule(r"\b(?:strike|strikes|struck)\s+((?:an?\s+)?(?:[^\s,;:.]+\s+)?)(deal|agreement|pact)\b",
          r"deal_won \1\2"),
    # "adds more subscribers than expected", "weaker-than-expected margins"
    _rule(r"\b(?:more|better|stronger|faster)\b([\s-]+(?:[^\s,;:.]+[\s-]+){0,3}?)than[\s-]+"
          r"(?:expected|estimated|forecast)\b", r"expectations_beaten\1"),
    _rule(r"\b(?:fewer|worse|weaker|slower|softer)\b([\s-]+(?:[^\s,;:.]+[\s-]+){0,3}?)than"
          r"[\s-]+(?:expected|estimated|forecast)\b", r"expectations_missed\1"),
    # "takes $800 million charge" (a write-off), not "to charge fees"; "at a 40% premium"
    # (what a buyer pays), not "premium smartphone"
    _rule(r"\b(?:take|takes|took|taking|book|books|booked|record|records|recorded)\s+(?:an?\s+)?"
          rf"((?:{_WORD}\s+){{0,3}}?)charges?\b", r"\1charge_taken"),
    _rule(r"\b\d+(?:\.\d+)?\s?%\s+premium\b", "deal_premium"),
    # costs and losses: higher is bad news, lower is good news
    _rule(r"\b(?:higher|rising|soaring|surging|mounting|increased)\b" + _gap(2)
          + r"\s+(costs|expenses)\b", r"cost_up\1 \2"),
    _rule(r"\b(costs|expenses)\s+(?:rise|rises|rose|jump|jumps|jumped|climb|climbs|soar|"
          r"soars|surge|surges|balloon|balloons|mount|mounts)\b", r"\1 cost_up"),
    _rule(r"\b(?:lower|falling|reduced|smaller|declining)\b" + _gap(2)
          + r"\s+(costs|expenses|losses)\b", r"cost_down\1 \2"),
    _rule(r"\b(costs|expenses)\s+(?:fall|falls|fell|drop|drops|dropped|decline|declines|"
          r"ease|eases|eased)\b", r"\1 cost_down"),
    _rule(r"\b(losses|loss)\s+(?:rise|rises|rose|grow|grows|grew|mount|mounts|deepen|"
          r"deepens|jump|jumps)\b", r"\1 losses_up"),
    _rule(r"\b(?:up)\s+(\d[\d.,]*\s?%|\d[\d.,]*\s+(?:percent|pct)\b)", r"pct_up \1"),
    _rule(r"\b(?:down)\s+(\d[\d.,]*\s?%|\d[\d.,]*\s+(?:percent|pct)\b)", r"pct_down \1"),
    _rule(r"\b(?:move|moves|moved|trade|trades|traded|edge|edges|edged|open|opens|opened|"
          r"close|closes|closed|head|heads|headed|tick|ticks|ticked|inch|inches|inched)"
          r"\s+(?:sharply\s+|slightly\s+|modestly\s+|much\s+)?(higher|lower)\b",
          lambda m: "moves_higher" if m.group(1).lower() == "higher" else "moves_lower"),
)
