"""Clause variants the demo contracts are assembled from: premium, refund method and fee wording,
state notices and regulators, administrators and the insurer."""

from __future__ import annotations

# --- Clause variants -------------------------------------------------------
# Templates use {label} / {Label} for the contract's name of the premium.

PREMIUM_CLAUSES: tuple[str, ...] = (
    "The {label} is {amount}. This amount is included in the Amount Financed shown above.",
    "{Label}: {amount}, financed together with the Vehicle unless you pay it in cash at signing.",
    "You agree to pay {amount} for this protection (the \u201c{Label}\u201d). You may pay it in "
    "cash or include it in the Amount Financed.",
    "The total {label} for the full Term is {amount}, payable in a single sum when this document "
    "takes effect.",
)

# Each method is written several ways; some variants name another method in
# passing ("will not be used", "of the pro rata amount") because real
# contracts do, and an extractor has to cope with it.
METHOD_CLAUSES: dict[str, tuple[str, ...]] = {
    "pro_rata": (
        "The refund of the unearned {label} will be calculated on a pro rata basis, using the "
        "number of days remaining in the Term.",
        "The refund will be computed on a pro-rata basis: the {label} multiplied by the number of "
        "unexpired days divided by the total number of days in the Term. The Rule of 78s will "
        "not be used.",
        "Any refund of the {label} will be calculated by the simple pro rata method.",
        "The unearned {label} will be refunded pro rata according to the number of full months "
        "remaining in the Term, measured from the cancellation date.",
    ),
    "rule_of_78": (
        "The unearned {label} will be refunded according to the Rule of 78s.",
        "Refunds are calculated using the sum of the digits method, in which each month of the "
        "Term is weighted by the number of months then remaining.",
        "The refund will be calculated under the Rule of 78 (the sum-of-the-months\u2019-digits "
        "method), so a larger share of the {label} is earned in the early months of the Term.",
        "The refundable amount equals the {label} multiplied by the sum of the digits of the "
        "months remaining, divided by the sum of the digits of all months in the Term "
        "(the \u201cRule of 78\u201d).",
    ),
    "short_rate": (
        "The refund will be determined from the short rate table in effect on the date of "
        "cancellation, a copy of which is available from us on request.",
        "The unearned {label} will be returned on a short-rate basis, which retains a larger "
        "portion of the charge to cover acquisition costs.",
        "The refund will be computed using the short rate method, equal to ninety percent (90%) "
        "of the unearned amount that a pro rata calculation would produce.",
        "We will refund the unearned {label} in accordance with the customary short rate table.",
    ),
    "actuarial": (
        "The unearned {label} will be refunded using the actuarial method.",
        "The refund will be calculated on an actuarial basis, in the same manner as unearned "
        "finance charges under your financing contract.",
        "The refund is computed actuarially: the unearned portion is found by applying the Annual "
        "Percentage Rate to the scheduled declining balance.",
        "Refunds will be calculated according to the actuarial method, using the Annual "
        "Percentage Rate disclosed above.",
    ),
}

# {fee} is the amount ("$50.00"), {fee_words} the amount in words, {doc} the
# document's own name ("Addendum", "Waiver", ...).
FEE_CLAUSES: dict[str, tuple[str, ...]] = {
    "amount": (
        "A cancellation fee of {fee} will be deducted from any refund.",
        "We may retain an administrative cancellation fee of {fee}, which will be subtracted from "
        "your refund.",
        "Cancellation fee: {fee} (deducted from the refund amount).",
        "The refund will be reduced by a {fee} cancellation processing fee.",
    ),
    "words": (
        "A cancellation fee of {fee_words} ({fee}) will be deducted from the refund.",
        "A cancellation fee in the amount of {fee_words} ({fee}) will be retained from any refund.",
    ),
    "none": (
        "No cancellation fee will be charged.",
        "You may cancel this {doc} at any time without any fee.",
        "There is no fee to cancel this {doc}.",
        "Cancellation fee: $0.00.",
        "No cancellation or administrative fee will be deducted from your refund.",
    ),
    "silent": ("",),
}

NOTICES: tuple[str, ...] = (
    "Purchase of this {doc} is optional and is not required to obtain credit. If you have a "
    "question or complaint about this {doc}, you may contact the {regulator}.",
    "This {doc} is not required as a condition of financing, and you may cancel it as described "
    "above. Complaints may be directed to the {regulator}.",
    "{state_name} law gives you the right to cancel this {doc} and to receive any refund described "
    "above. The {regulator} oversees transactions of this kind.",
)

STATE_NAMES: dict[str, str] = {
    "AZ": "Arizona", "CA": "California", "CO": "Colorado", "FL": "Florida", "GA": "Georgia",
    "IL": "Illinois", "LA": "Louisiana", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "NC": "North Carolina", "NM": "New Mexico", "NV": "Nevada",
    "NY": "New York", "OH": "Ohio", "PA": "Pennsylvania", "TN": "Tennessee", "TX": "Texas",
    "VA": "Virginia", "WA": "Washington",
}

# Regulators of consumer credit; insurance certificates name the insurance
# regulator instead (below).
CREDIT_REGULATORS: dict[str, str] = {
    "AZ": "Arizona Department of Insurance and Financial Institutions",
    "CA": "California Department of Financial Protection and Innovation",
    "CO": "Colorado Attorney General, Consumer Credit Unit",
    "FL": "Florida Office of Financial Regulation",
    "GA": "Georgia Department of Banking and Finance",
    "IL": "Illinois Department of Financial and Professional Regulation",
    "LA": "Louisiana Office of Financial Institutions",
    "MA": "Massachusetts Division of Banks",
    "MI": "Michigan Department of Insurance and Financial Services",
    "MN": "Minnesota Department of Commerce",
    "NC": "North Carolina Commissioner of Banks",
    "NM": "New Mexico Financial Institutions Division",
    "NV": "Nevada Financial Institutions Division",
    "NY": "New York State Department of Financial Services",
    "OH": "Ohio Division of Financial Institutions",
    "PA": "Pennsylvania Department of Banking and Securities",
    "TN": "Tennessee Department of Financial Institutions",
    "TX": "Texas Office of Consumer Credit Commissioner",
    "VA": "Virginia State Corporation Commission, Bureau of Financial Institutions",
    "WA": "Washington State Department of Financial Institutions",
}

INSURANCE_REGULATORS: dict[str, str] = {
    "NC": "North Carolina Department of Insurance",
    "NM": "New Mexico Office of Superintendent of Insurance",
    "NY": "New York State Department of Financial Services",
    "PA": "Pennsylvania Insurance Department",
}

ADMINISTRATORS: tuple[str, ...] = (
    "Summit Vehicle Protection Administrators, Inc.",
    "Keystone GAP Services, LLC",
)
INSURER = "Harbor Mutual Casualty Company"
GROUP_POLICY = "GP-4417-GAP"
