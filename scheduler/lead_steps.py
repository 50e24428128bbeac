"""A campaign's steps as each lead gets them: rendered (keys, and the A/B variant and spintax
drawn from them) and judged against the rules of each provider of the campaign's accounts.

What a recipient gets is decided by seeds drawn from their idempotency key, never by chance at
render time: the same person gets the same variant and spintax on both passes and in reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from scheduler.campaign_file import CampaignSpec
from scheduler.campaign_steps import Step, Variant
from scheduler.idempotency import campaign_step_keys
from scheduler.leads import Lead
from worker.accounts import ProviderName
from worker.errors import CampaignFileError, Problem
from worker.providers import check_addressed, check_options
from worker.providers.base import MediaFile, SendRequest
from worker.recipients import Recipient, parse_recipient

MAX_SUBJECT = 500  # the deliveries table's column
_PROBE = parse_recipient("urn:li:fsd_profile:ACoAAProbe")  # any URN, to check a step alone


class Rendered(NamedTuple):
    """One step as one recipient gets it."""

    key: str
    variant: Variant
    text: str
    subject: str | None


# A recipient's steps as checks see them: texts, subjects, each step's variant (when any).
Steps = tuple[list[str], list[str], tuple[str | None, ...] | None]


class LeadSteps:
    def __init__(self, spec: CampaignSpec, providers: list[ProviderName]):
        """`providers`: those of the campaign's accounts. Raises `CampaignFileError` when a
        step is one none of them can send."""
        self.spec = spec
        self.providers_used = providers
        self.fields = list(dict.fromkeys(f for step in spec.steps for f in step.fields))
        self.required = list(dict.fromkeys(f for step in spec.steps for f in step.required))
        # Per step: whether a recipient's text is drawn (variants, spintax) from their key.
        self.draws = [
            len(step.variants) > 1
            or any(v.template.spins or (v.subject and v.subject.spins) for v in step.variants)
            for step in spec.steps
        ]
        self.has_variants = any(len(step.variants) > 1 for step in spec.steps)
        self.any_draws = any(self.draws)
        # With no draws and no subjects, each step's one text as a str.format string.
        self.plain: list[tuple[Variant, str]] | None = None
        if not self.any_draws and all(
            s.variants[0].subject is None and s.variants[0].template.simple is not None
            for s in spec.steps
        ):
            self.plain = [(s.variants[0], s.variants[0].template.simple or "") for s in spec.steps]
        self.refused_options: dict[ProviderName, list[str]] = {p: [] for p in providers}
        self._check()

    def _check(self) -> None:
        """Every step must be sendable by at least one provider of the campaign's accounts;
        leads then go only to accounts whose provider can send all of their steps. A step's
        own fields are checked here, once; each recipient's address and texts in `judge`."""
        problems = []
        for i, step in enumerate(self.spec.steps, start=1):
            for variant in step.variants:
                subject = variant.subject.text if variant.subject else None
                request = _request(step, _PROBE, "probe", subject)
                refusals = {p: check_options(p, request) for p in self.providers_used}
                for provider, found in refusals.items():
                    self.refused_options[provider] += map(str, found)
                if all(refusals.values()):
                    at = f"steps[{i}]" + (f".variants[{variant.name}]" if variant.name else "")
                    why = "; ".join(
                        f"{provider}: {', '.join(map(str, found))}"
                        for provider, found in refusals.items()
                    )
                    problems.append(Problem(at, f"no account of this campaign can send it ({why})"))
        if problems:
            raise CampaignFileError(f"campaign {self.spec.name!r}", problems)

    def render(self, lead: Lead, *, keyed: bool = True) -> list[Rendered]:
        """Each step for `lead`; without `keyed` (a dry run) no key is made unless a draw
        (A/B variant, spintax) needs its seed."""
        steps = self.spec.steps
        if keyed or self.any_draws:
            keys = campaign_step_keys(self.spec.name, lead.recipient.value, len(steps))
        else:
            keys = [""] * len(steps)
        values = lead.values
        if self.plain is not None:  # the usual campaign: nothing drawn, one pass in C per text
            return [
                Rendered(key, variant, text.format_map(values), None)
                for key, (variant, text) in zip(keys, self.plain, strict=True)
            ]
        out = []
        for step, key, draws in zip(steps, keys, self.draws, strict=True):
            variant = step.pick(int(key[16:32], 16)) if len(step.variants) > 1 else step.variants[0]
            template, subject = variant.template, variant.subject
            seed = int(key[:16], 16) if draws else 0
            out.append(
                Rendered(
                    key,
                    variant,
                    template.render(lead.values, seed),
                    subject.render(lead.values, seed) if subject else None,
                )
            )
        return out

    def steps_of(self, lead: Lead) -> Steps:
        """What a dry run needs of `lead`'s steps; in the usual campaign made straight by
        str.format, as `render` would make them but without the rest of a row."""
        if self.plain is None:
            return self.steps_in(self.render(lead, keyed=False))
        values = lead.values
        return [text.format_map(values) for _, text in self.plain], [], None

    def steps_in(self, rendered: list[Rendered]) -> Steps:
        texts = [r.text for r in rendered]
        subjects = [r.subject for r in rendered if r.subject]
        variants = tuple(r.variant.name for r in rendered) if self.has_variants else None
        return texts, subjects, variants

    def judge(
        self, recipient: Recipient, texts: list[str], subjects: list[str]
    ) -> Callable[[ProviderName], list[str]]:
        """For one lead's texts and subjects: what a provider would refuse in any of its
        steps (each provider is asked at most once per lead)."""
        by_provider: dict[ProviderName, list[str]] = {}
        too_long = [
            f"subject: is {len(subject)} characters; outreach keeps {MAX_SUBJECT}"
            for subject in subjects
            if len(subject) > MAX_SUBJECT
        ]

        def problems(provider: ProviderName) -> list[str]:
            found = by_provider.get(provider)
            if found is None:
                addressed = check_addressed(provider, recipient, texts)
                found = by_provider[provider] = [
                    *self.refused_options[provider],
                    *map(str, addressed),
                    *too_long,
                ]
            return found

        return problems

    def refusal(self, problems: Callable[[ProviderName], list[str]]) -> str:
        """Why no account of the pool can send to a lead."""
        found = {p for provider in self.providers_used for p in problems(provider)}
        return f"no account in the pool can send this: {'; '.join(sorted(found))}"


def _request(step: Step, recipient: Recipient, text: str, subject: str | None) -> SendRequest:
    """What a provider is asked to check (a stand-in for the file: only its type counts)."""
    media = step.media
    probe = MediaFile(media.content_type, b"") if media is not None else None
    return SendRequest(recipient, text, subject, step.inmail, step.media_link, probe)
