"""Demo GAP contracts for local development, demos and extractor evaluation.

``demo_contracts()`` returns 20 GAP (Guaranteed Asset Protection) contracts,
each with the full contract text an extractor would see and the ``expected``
values (premium, refund calculation method, cancellation fee) that a correct
extraction must return. The texts deliberately vary how each fact is worded and
surround it with other dollar amounts (amount financed, monthly payment,
deductible cap, maximum benefit, MSRP, ...), so accuracy measured on this set
says something about real documents.

Customers, dealers, lenders, administrators and the insurer are invented for
the demo; the state regulators named in the notices are real agencies. Each
contract is assembled from small pieces (deal data, clause variants and one of
four form layouts). Nothing is random: every call returns equal, freshly built
objects, so callers may mutate what they get.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from pipeline.vocabulary import REFUND_METHODS

__all__ = ["REFUND_METHODS", "demo_contracts"]



@dataclass(frozen=True)
class _Deal:
    """Who bought what, from whom, and how it was financed."""

    account_number: str
    customer_name: str
    dealer: str
    dealer_city: str
    lender: str
    state: str
    year: int
    make: str
    model: str
    vin_stem: str  # VIN positions 1-8 (manufacturer code + vehicle descriptor)
    vin_tail: str  # VIN positions 11-17 (plant code + serial number)
    start: str  # ISO date the contract was signed
    term_months: int
    cash_price: str
    down_payment: str
    apr: str
    msrp: str


@dataclass(frozen=True)
class _Terms:
    """The GAP product terms of one contract and how its text words them."""

    form: str  # key of _FORMS: which layout renders the contract
    premium: str  # canonical amount, e.g. "795.00"
    premium_label: str  # what this contract calls the premium
    premium_style: str  # "cents" ($795.00), "whole" ($795) or "words"
    premium_variant: int  # index into _PREMIUM_CLAUSES
    method: str  # one of REFUND_METHODS
    method_variant: int  # index into _METHOD_CLAUSES[method]
    fee: str | None  # canonical cancellation fee; None when the text is silent
    fee_style: str  # "amount", "words", "none" or "silent"
    fee_variant: int = 0  # index into _FEE_CLAUSES[fee_style]
    fee_cents: bool = True  # "$50.00" rather than "$50"
    deductible_cap: int = 1000
    max_benefit: int = 50000
    ocr: str | None = None  # "upper" or "wrap": imitate OCR output of a scan


# --- Clause variants -------------------------------------------------------
# Templates use {label} / {Label} for the contract's name of the premium.

_PREMIUM_CLAUSES: tuple[str, ...] = (
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
_METHOD_CLAUSES: dict[str, tuple[str, ...]] = {
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
_FEE_CLAUSES: dict[str, tuple[str, ...]] = {
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

_NOTICES: tuple[str, ...] = (
    "Purchase of this {doc} is optional and is not required to obtain credit. If you have a "
    "question or complaint about this {doc}, you may contact the {regulator}.",
    "This {doc} is not required as a condition of financing, and you may cancel it as described "
    "above. Complaints may be directed to the {regulator}.",
    "{state_name} law gives you the right to cancel this {doc} and to receive any refund described "
    "above. The {regulator} oversees transactions of this kind.",
)

_STATE_NAMES: dict[str, str] = {
    "AZ": "Arizona", "CA": "California", "CO": "Colorado", "FL": "Florida", "GA": "Georgia",
    "IL": "Illinois", "LA": "Louisiana", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "NC": "North Carolina", "NM": "New Mexico", "NV": "Nevada",
    "NY": "New York", "OH": "Ohio", "PA": "Pennsylvania", "TN": "Tennessee", "TX": "Texas",
    "VA": "Virginia", "WA": "Washington",
}

# Regulators of consumer credit; insurance certificates name the insurance
# regulator instead (below).
_CREDIT_REGULATORS: dict[str, str] = {
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

_INSURANCE_REGULATORS: dict[str, str] = {
    "NC": "North Carolina Department of Insurance",
    "NM": "New Mexico Office of Superintendent of Insurance",
    "NY": "New York State Department of Financial Services",
    "PA": "Pennsylvania Insurance Department",
}

_ADMINISTRATORS: tuple[str, ...] = (
    "Summit Vehicle Protection Administrators, Inc.",
    "Keystone GAP Services, LLC",
)
_INSURER = "Harbor Mutual Casualty Company"
_GROUP_POLICY = "GP-4417-GAP"


# --- Formatting helpers ----------------------------------------------------

_VIN_VALUES: dict[str, int] = {
    **{str(digit): digit for digit in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_MODEL_YEAR_CODES = {2021: "M", 2022: "N", 2023: "P", 2024: "R", 2025: "S"}


def _vin(stem: str, model_year: int, tail: str) -> str:
    """Assemble a VIN with a valid check digit (position 9), as real VINs have."""
    draft = f"{stem}0{_MODEL_YEAR_CODES[model_year]}{tail}"
    remainder = sum(_VIN_VALUES[char] * weight for char, weight in zip(draft, _VIN_WEIGHTS)) % 11
    return f"{stem}{'X' if remainder == 10 else remainder}{draft[9:]}"


# Spelled out here rather than via strftime("%B"), which follows the process locale.
_MONTHS = (
    "January February March April May June July August September October November December"
).split()


def _money(amount: Decimal, *, cents: bool = True) -> str:
    return f"${amount:,.2f}" if cents else f"${amount:,.0f}"


_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "- - twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(number: int) -> str:
    """Spell out 0..999,999 the way contracts write amounts ("eight hundred ninety-five")."""
    if number < 20:
        return _ONES[number]
    if number < 100:
        tens, rest = divmod(number, 10)
        return _TENS[tens] + (f"-{_ONES[rest]}" if rest else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    thousands, rest = divmod(number, 1000)
    return f"{number_words(thousands)} thousand" + (f" {number_words(rest)}" if rest else "")


def _dollars_in_words(amount: Decimal, *, cents: bool) -> str:
    if amount != amount.to_integral_value():
        raise ValueError(f"only whole-dollar amounts are spelled out, got {amount}")
    return f"{number_words(int(amount))} dollars ({_money(amount, cents=cents)})"


def _monthly_payment(principal: Decimal, apr: Decimal, months: int) -> Decimal:
    """Level payment of a fully amortizing loan, rounded to the cent."""
    # A local context so a caller's decimal settings cannot change the output.
    with localcontext() as ctx:
        ctx.prec = 28
        rate = apr / Decimal(1200)
        payment = principal * rate / (1 - (1 + rate) ** -months)
        return payment.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _lower_first(sentence: str) -> str:
    # Only lowercase ordinary words: "The refund" -> "the refund", never "GAP" -> "gAP".
    if len(sentence) > 1 and sentence[0].isupper() and sentence[1].islower():
        return sentence[0].lower() + sentence[1:]
    return sentence


def _cap_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _ocr(text: str, *, width: int, upper: bool) -> str:
    """Imitate text pulled from a scanned page: hard line breaks mid-sentence, maybe all caps.

    Lines break only at spaces so amounts such as "$1,295.00" stay intact.
    """
    lines: list[str] = []
    for line in text.split("\n"):
        wrapped = textwrap.wrap(line, width=width, break_long_words=False, break_on_hyphens=False)
        lines.extend(wrapped or [""])
    result = "\n".join(lines)
    return result.upper() if upper else result


# --- Form layouts ------------------------------------------------------------


@dataclass(frozen=True)
class _Doc:
    """Everything a form layout needs, already formatted as contract text."""

    deal: _Deal
    index: int
    vin: str
    start_us: str  # 03/14/2022
    start_long: str  # March 14, 2022
    cash_price: str
    down_payment: str
    amount_financed: str
    payment: str
    msrp: str
    deductible_cap: str
    max_benefit: str
    label: str
    premium_clause: str
    refund_clause: str
    free_look_days: int
    state_name: str
    notice: str


def _dealer_addendum(d: _Doc) -> str:
    deal = d.deal
    return f"""GAP WAIVER ADDENDUM
(Addendum to Retail Installment Sale Contract)
Contract / Account No. {deal.account_number}    Date: {d.start_us}

1. PARTIES. This GAP Waiver Addendum ("Addendum") is made between {deal.customer_name} ("Buyer," "you," "your") and {deal.dealer}, {deal.dealer_city} ("Seller"). Seller will assign the Retail Installment Sale Contract ("Contract") and this Addendum to {deal.lender} ("Assignee"). "We," "us" and "our" mean Seller and, after assignment, Assignee.

2. VEHICLE. {deal.year} {deal.make} {deal.model}, Vehicle Identification Number {d.vin}. Manufacturer's suggested retail price (MSRP): {d.msrp}.

3. CONTRACT INFORMATION. Cash price {d.cash_price}; cash down payment {d.down_payment}; Amount Financed {d.amount_financed}; Annual Percentage Rate {deal.apr}%; {deal.term_months} monthly payments of {d.payment} (the "Term").

4. WHAT THIS ADDENDUM COVERS. If the Vehicle is stolen and not recovered, or is damaged beyond repair, and your primary insurer pays its actual cash value, we will waive the "GAP Amount": the unpaid balance of the Contract on the date of loss minus your insurer's settlement. We will also waive up to {d.deductible_cap} of your primary insurance deductible.

5. LIMITS. The total amount waived will not exceed {d.max_benefit}. We will not waive past-due payments, late charges, extension fees, amounts financed for service contracts or credit insurance, or any balance resulting from an Amount Financed greater than 150% of MSRP. This Addendum is not insurance and does not pay for repairs to the Vehicle.

6. {d.label.upper()}. {d.premium_clause} Purchase of this Addendum is optional; your credit approval did not depend on it.

7. CANCELLATION AND REFUNDS. You may cancel this Addendum at any time by written request to Seller or Assignee. If you cancel within {d.free_look_days} days of the date above and no waiver has been granted, you will receive a full refund of the {d.label}. {d.refund_clause} If the Contract is paid in full before the end of the Term, this Addendum ends and any refund will be sent to you or credited to your account. No refund is available after a waiver benefit has been paid.

8. NOTICE TO {d.state_name.upper()} BUYERS. {d.notice}

9. SIGNATURES. By signing below you acknowledge that you have read this Addendum and received a completed copy.
Buyer: ______________________  {deal.customer_name}    Date: {d.start_us}
Seller: {deal.dealer}    By: ______________________  Finance Manager
"""


def _debt_cancellation(d: _Doc) -> str:
    deal = d.deal
    return f"""{deal.lender.upper()}
GAP DEBT CANCELLATION AGREEMENT
Loan Account Number: {deal.account_number}
Effective Date: {d.start_long}

Section 1 \u2014 Parties. In this Agreement, "you" and "your" mean {deal.customer_name}, the Borrower named on the Loan. "We," "us," "our" and "Lender" mean {deal.lender}. You bought the Vehicle from {deal.dealer}, {deal.dealer_city}; the dealer is not a party to this Agreement.

Section 2 \u2014 Vehicle. {deal.year} {deal.make} {deal.model}; VIN {d.vin}; MSRP {d.msrp}.

Section 3 \u2014 Loan Terms. Amount Financed: {d.amount_financed}. Annual Percentage Rate: {deal.apr}%. Term: {deal.term_months} months. Regular monthly payment: {d.payment}.

Section 4 \u2014 Debt Cancellation Benefit. If the Vehicle is a Total Loss (stolen and not recovered within 30 days, or damaged so that your insurer declares it a total loss), we will cancel the GAP Amount, meaning the Loan balance on the date of loss minus the Actual Cash Value paid by your primary insurer. If your insurer subtracts a deductible, we will also cancel up to {d.deductible_cap} of that deductible.

Section 5 \u2014 Benefit Limits. The most we will cancel under this Agreement is {d.max_benefit}. We will not cancel delinquent payments, late charges, skip-a-payment or extension fees, the balance of any other loan secured by the Vehicle, or amounts for products financed other than the Vehicle and this Agreement.

Section 6 \u2014 Cost of Protection. {d.premium_clause} You are not required to buy this Agreement to obtain your Loan, and buying it does not change your interest rate.

Section 7 \u2014 Cancellation and Refunds. You may cancel this Agreement at any time by telling us in writing. If you cancel within {d.free_look_days} days after the Effective Date and have not filed a claim, we will refund the entire {d.label}. {d.refund_clause} Refunds are credited to your Loan balance; if the Loan has been paid off, we will mail the refund to you. This Agreement ends automatically when the Loan is paid in full or refinanced.

Section 8 \u2014 {d.state_name} Disclosure. {d.notice}

Section 9 \u2014 Acceptance.
Borrower: ________________________  {deal.customer_name}
Date: {d.start_long}
For {deal.lender}: ________________________  Loan Officer
"""


def _administered_waiver(d: _Doc) -> str:
    deal = d.deal
    administrator = _ADMINISTRATORS[d.index % len(_ADMINISTRATORS)]
    return f"""GUARANTEED ASSET PROTECTION (GAP) WAIVER
Administered by {administrator}
Account No.: {deal.account_number}    State: {deal.state}    Waiver Effective Date: {d.start_us}

ARTICLE I \u2013 PARTIES
Borrower: {deal.customer_name}. Creditor/Assignee: {deal.lender}. Selling Dealer: {deal.dealer}, {deal.dealer_city}. {administrator} (the "Administrator") administers this Waiver on behalf of the Creditor. "We," "us" and "our" mean the Creditor and the Administrator acting for it.

ARTICLE II \u2013 VEHICLE AND FINANCING
Vehicle: {deal.year} {deal.make} {deal.model}, VIN {d.vin}. MSRP {d.msrp}. Cash Price {d.cash_price}. Amount Financed {d.amount_financed} at {deal.apr}% APR, payable in {deal.term_months} monthly installments of {d.payment} (the "Term").

ARTICLE III \u2013 WAIVER OF GAP AMOUNT
If the Vehicle is a Total Loss, the Creditor will waive the GAP Amount: the Net Payoff of your retail installment contract on the date of loss less the Actual Cash Value settlement from your primary carrier. The waiver also includes up to {d.deductible_cap} of your primary insurance deductible.

ARTICLE IV \u2013 LIMITS OF WAIVER
The maximum amount waived is {d.max_benefit}. Coverage applies only if the Amount Financed did not exceed 150% of MSRP or NADA retail value at inception. Excluded: unpaid late charges, deferred payments, refunds of cancelled service contracts, and any balance carried over from a prior contract.

ARTICLE V \u2013 PRICE
{d.premium_clause}

ARTICLE VI \u2013 CANCELLATION; REFUND
You may cancel this Waiver by sending a cancellation request to the Administrator. If cancelled within {d.free_look_days} days and no claim is pending, the entire {d.label} will be refunded. {d.refund_clause} No refund will be issued if the calculated amount is less than $5.00. While the contract remains open, refunds are paid to the Creditor and credited to your balance.

ARTICLE VII \u2013 STATE NOTICE ({d.state_name})
{d.notice}

ARTICLE VIII \u2013 SIGNATURES
Borrower: __________________  {deal.customer_name}    Date: {d.start_us}
Dealer/Creditor Representative: __________________
"""


def _insurance_certificate(d: _Doc) -> str:
    deal = d.deal
    return f"""CERTIFICATE OF GUARANTEED ASSET PROTECTION (GAP) INSURANCE
Issued by {_INSURER} under Group Policy No. {_GROUP_POLICY}
Certificate / Account Number: {deal.account_number}    Effective: {d.start_long}

PARTIES. Insured Debtor: {deal.customer_name}. Creditor and Lienholder: {deal.lender}. Issuing Agent/Dealer: {deal.dealer}, {deal.dealer_city}. "You" means the Insured Debtor; "we," "us" and "Company" mean {_INSURER}.

SCHEDULE. Covered Vehicle: {deal.year} {deal.make} {deal.model}, VIN {d.vin}. MSRP: {d.msrp}. Amount Financed: {d.amount_financed}. APR: {deal.apr}%. Term of Coverage (the "Term"): {deal.term_months} months. Monthly Loan Payment: {d.payment}.

INSURING AGREEMENT. If the Covered Vehicle is a Total Loss during the Term, we will pay the Creditor the GAP Benefit: the unpaid Net Balance on the date of loss less the Actual Cash Value paid by your primary automobile insurance. We will also pay up to {d.deductible_cap} of your primary insurance deductible.

LIMIT OF LIABILITY. Our total liability under this Certificate will not exceed {d.max_benefit} and will never exceed the Net Balance on the date of loss. We will not pay late charges, past-due payments, or amounts for other products financed with the Vehicle.

PREMIUM. {d.premium_clause}

CANCELLATION AND RETURN OF PREMIUM. You may cancel this Certificate by written request to us or to the Creditor. Coverage also ends when the loan is paid in full. If you cancel within {d.free_look_days} days and no claim has been made, we will return the full {d.label}. {d.refund_clause}

STATE NOTICE \u2013 {d.state_name.upper()}. {d.notice}

SIGNATURES
Insured Debtor: ______________________  {deal.customer_name}    Date: {d.start_long}
Countersigned by Licensed Agent: ______________________
"""


# form key -> (layout, the document's name for itself)
_FORMS: dict[str, tuple[Callable[[_Doc], str], str]] = {
    "dealer_addendum": (_dealer_addendum, "Addendum"),
    "debt_cancellation": (_debt_cancellation, "Agreement"),
    "administered_waiver": (_administered_waiver, "Waiver"),
    "insurance_certificate": (_insurance_certificate, "Certificate"),
}

# Some states give a longer free-look period; the exact figure is only colour.
_FREE_LOOK_DAYS: dict[str, int] = {"CA": 60, "NY": 60, "MA": 60}


# --- The 20 contracts --------------------------------------------------------

_CONTRACTS: tuple[tuple[_Deal, _Terms], ...] = (
    (
        _Deal("4350948342", "Maria L. Gonzalez", "Sunbelt Toyota", "Mesa, Arizona",
              "Desert Sky Federal Credit Union", "AZ", 2022, "Toyota", "Camry SE",
              "4T1G11AK", "U624817", "2022-03-14", 72, "27480.00", "3000.00", "5.89", "28855.00"),
        _Terms("dealer_addendum", "795.00", "GAP charge", "cents", 0,
               "pro_rata", 0, "50.00", "amount", 0),
    ),
    (
        _Deal("1187203564", "James R. Whitfield", "Lone Star Ford", "Waco, Texas",
              "Brazos Valley Auto Finance", "TX", 2023, "Ford", "F-150 XLT SuperCrew",
              "1FTFW1E5", "KD21907", "2023-06-02", 84, "52900.00", "5000.00", "7.49", "55640.00"),
        _Terms("administered_waiver", "1095.00", "cost of this Waiver", "whole", 0,
               "rule_of_78", 0, "75.00", "amount", 1, fee_cents=False, max_benefit=75000),
    ),
    (
        _Deal("2093417785", "Aisha N. Thompson", "Peachtree Honda", "Duluth, Georgia",
              "Magnolia Community Credit Union", "GA", 2021, "Honda", "CR-V EX",
              "5J6RW2H5", "L004215", "2021-09-20", 60, "30150.00", "4500.00", "3.99", "31370.00"),
        _Terms("debt_cancellation", "595.00", "debt cancellation fee", "cents", 1,
               "pro_rata", 1, "0.00", "none", 2, deductible_cap=500),
    ),
    (
        _Deal("3301856420", "Robert J. Kowalski", "Lakeshore Chevrolet", "Muskegon, Michigan",
              "Great Lakes Members Credit Union", "MI", 2024, "Chevrolet", "Silverado 1500 LT",
              "1GCUDDED", "Z154238", "2024-01-11", 72, "51795.00", "6000.00", "6.74", "54395.00"),
        _Terms("dealer_addendum", "895.00", "Addendum price", "words", 0,
               "short_rate", 0, "50.00", "words", 0, max_benefit=75000),
    ),
    (
        _Deal("5729046613", "Emily S. Nguyen", "Bay Cities Nissan", "Hayward, California",
              "Pacific Crest Auto Credit", "CA", 2022, "Nissan", "Rogue SV",
              "5N1BT3BB", "C712064", "2022-11-05", 66, "31995.00", "2500.00", "8.25", "32840.00"),
        _Terms("administered_waiver", "699.00", "GAP price", "cents", 2,
               "pro_rata", 2, "0.00", "none", 0),
    ),
    (
        _Deal("6604132987", "Daniel K. O'Brien", "Liberty Hyundai", "King of Prussia, Pennsylvania",
              "Keystone State Lending Corp.", "PA", 2023, "Hyundai", "Tucson SEL",
              "5NMJBCAE", "U183390", "2023-04-18", 75, "33450.00", "3500.00", "9.19", "34160.00"),
        _Terms("insurance_certificate", "1195.00", "GAP premium", "cents", 0,
               "actuarial", 0, "25.00", "amount", 2),
    ),
    (
        _Deal("7012598346", "Priya Raman", "Capital City Kia", "Richmond, Virginia",
              "Old Dominion Auto Finance", "VA", 2024, "Kia", "Telluride EX",
              "5XYP3DGC", "G512876", "2024-05-27", 72, "45890.00", "8000.00", "6.29", "46985.00"),
        _Terms("dealer_addendum", "495.00", "Waiver charge", "cents", 3,
               "pro_rata", 3, None, "silent", deductible_cap=500),
    ),
    (
        _Deal("8145730092", "Marcus D. Bell", "Gulf Coast Chrysler Dodge Jeep Ram",
              "Pensacola, Florida", "Panhandle Coastal Credit Union", "FL", 2021, "Jeep",
              "Grand Cherokee Limited", "1C4RJFBG", "C604118", "2021-07-09", 72, "41250.00",
              "4000.00", "7.99", "44620.00"),
        _Terms("debt_cancellation", "1295.00", "GAP charge", "cents", 0,
               "rule_of_78", 1, "50.00", "amount", 3, ocr="upper"),
    ),
    (
        _Deal("9268401175", "Hannah E. Larson", "North Star Subaru", "Bloomington, Minnesota",
              "Twin Lakes Credit Union", "MN", 2023, "Subaru", "Outback Premium",
              "4S4BTAFC", "3177052", "2023-02-21", 60, "33720.00", "5000.00", "4.49", "34375.00"),
        _Terms("administered_waiver", "650.00", "Waiver price", "whole", 1,
               "short_rate", 1, "0.00", "none", 1, deductible_cap=750),
    ),
    (
        _Deal("1450392866", "Carlos A. Medina", "Rio Grande Ram", "Albuquerque, New Mexico",
              "Sandia Mountain Credit Union", "NM", 2022, "Ram", "1500 Big Horn Crew Cab",
              "1C6SRFFT", "N318804", "2022-08-30", 84, "49980.00", "5500.00", "8.99", "53215.00"),
        _Terms("insurance_certificate", "995.00", "GAP premium", "cents", 3,
               "actuarial", 1, "75.00", "amount", 0, fee_cents=False, max_benefit=75000),
    ),
    (
        _Deal("2876104539", "Olivia P. Chen", "Evergreen Volkswagen", "Lynnwood, Washington",
              "Cascade Auto Lending", "WA", 2025, "Volkswagen", "Jetta SE",
              "3VWEM7BU", "M019437", "2025-02-03", 60, "25640.00", "2000.00", "5.49", "26215.00"),
        _Terms("dealer_addendum", "425.00", "GAP price", "cents", 1,
               "pro_rata", 0, "75.00", "words", 1),
    ),
    (
        _Deal("3519827760", "Tyrone M. Jackson", "Music City Toyota", "Nashville, Tennessee",
              "Cumberland Valley Bank", "TN", 2024, "Toyota", "Highlander XLE",
              "5TDHZRBH", "S204661", "2024-09-16", 72, "47300.00", "7500.00", "6.99", "48420.00"),
        _Terms("administered_waiver", "845.00", "cost of this Waiver", "whole", 0,
               "rule_of_78", 2, "50.00", "amount", 1, fee_cents=False),
    ),
    (
        _Deal("4082665193", "Sarah B. Mitchell", "Queen City Mazda", "Cincinnati, Ohio",
              "Ohio Valley Members Credit Union", "OH", 2023, "Mazda", "CX-5 2.5 S Preferred",
              "JM3KFBCM", "0148213", "2023-10-02", 60, "31890.00", "3000.00", "5.99", "32695.00"),
        _Terms("debt_cancellation", "745.00", "Agreement price", "words", 2,
               "actuarial", 2, None, "silent"),
    ),
    (
        _Deal("5937210448", "Kevin T. Park", "Empire Honda", "Yonkers, New York",
              "Hudson Valley Auto Finance", "NY", 2022, "Honda", "Accord Sport",
              "1HGCV1F3", "A065532", "2022-05-23", 60, "29870.00", "3000.00", "4.79", "30515.00"),
        _Terms("insurance_certificate", "549.00", "GAP premium", "cents", 1,
               "pro_rata", 1, "0.00", "none", 4),
    ),
    (
        _Deal("6341089572", "Jessica A. Romero", "Front Range Chevrolet", "Aurora, Colorado",
              "Rocky Mountain Employees Credit Union", "CO", 2021, "Chevrolet", "Equinox LT",
              "3GNAXKEV", "L301527", "2021-12-13", 72, "28750.00", "2500.00", "6.49", "29895.00"),
        _Terms("administered_waiver", "1050.00", "GAP price", "cents", 3,
               "short_rate", 2, "35.00", "words", 1, ocr="wrap"),
    ),
    (
        _Deal("7790453316", "William H. Carter", "Tar Heel Ford", "Raleigh, North Carolina",
              "Carolina Piedmont Credit Union", "NC", 2024, "Ford", "Explorer XLT",
              "1FMSK8DH", "GA11835", "2024-03-08", 72, "43615.00", "5000.00", "7.24", "45410.00"),
        _Terms("insurance_certificate", "899.00", "Certificate premium", "whole", 2,
               "actuarial", 3, "50.00", "amount", 2),
    ),
    (
        _Deal("8623917054", "Lauren E. Fischer", "Prairie State Nissan", "Naperville, Illinois",
              "Heartland Members Credit Union", "IL", 2023, "Nissan", "Altima 2.5 SV",
              "1N4BL4DV", "N342780", "2023-07-19", 60, "27325.00", "2500.00", "6.19", "28270.00"),
        _Terms("dealer_addendum", "399.00", "GAP Waiver fee", "cents", 0,
               "pro_rata", 2, "25.00", "words", 0, fee_cents=False),
    ),
    (
        _Deal("9054786231", "Andre L. Dubois", "Bayou Hyundai", "Metairie, Louisiana",
              "Crescent City Auto Finance", "LA", 2022, "Hyundai", "Elantra SEL",
              "5NPLM4AG", "H061274", "2022-01-28", 72, "23180.00", "1500.00", "10.49", "23795.00"),
        _Terms("debt_cancellation", "1149.00", "debt cancellation fee", "cents", 0,
               "rule_of_78", 3, "0.00", "none", 0),
    ),
    (
        _Deal("1938462705", "Megan R. O'Connor", "Bay State Subaru", "Worcester, Massachusetts",
              "Minuteman Community Credit Union", "MA", 2025, "Subaru", "Forester Sport",
              "JF2SLDKC", "H215598", "2025-04-07", 60, "35260.00", "4000.00", "5.29", "36120.00"),
        _Terms("administered_waiver", "695.00", "Waiver price", "cents", 2,
               "short_rate", 3, "40.00", "amount", 3, deductible_cap=1500),
    ),
    (
        _Deal("2460135879", "David Y. Kim", "Silver State Kia", "Henderson, Nevada",
              "High Desert Auto Credit", "NV", 2024, "Kia", "Sorento LX",
              "5XYRG4LC", "G289013", "2024-11-14", 84, "34990.00", "3000.00", "8.49", "35890.00"),
        _Terms("debt_cancellation", "1245.00", "GAP Agreement charge", "whole", 3,
               "actuarial", 0, "0.00", "none", 3, max_benefit=60000),
    ),
)


def _premium_amount_text(terms: _Terms) -> str:
    amount = Decimal(terms.premium)
    if terms.premium_style == "words":
        return _dollars_in_words(amount, cents=True)
    return _money(amount, cents=terms.premium_style == "cents")


def _fee_sentence(terms: _Terms, doc_name: str) -> str:
    template = _FEE_CLAUSES[terms.fee_style][terms.fee_variant]
    if terms.fee is None or terms.fee_style in ("none", "silent"):
        return template.format(doc=doc_name)
    fee = Decimal(terms.fee)
    return template.format(
        fee=_money(fee, cents=terms.fee_cents),
        fee_words=number_words(int(fee)) + " dollars",
        doc=doc_name,
    )


def _document_text(index: int, deal: _Deal, terms: _Terms) -> str:
    layout, doc_name = _FORMS[terms.form]
    start = date.fromisoformat(deal.start)
    cash_price, down_payment = Decimal(deal.cash_price), Decimal(deal.down_payment)
    # The premium is financed, so it is part of the Amount Financed, as on real contracts.
    amount_financed = cash_price - down_payment + Decimal(terms.premium)
    payment = _monthly_payment(amount_financed, Decimal(deal.apr), deal.term_months)
    label = terms.premium_label

    premium_clause = _PREMIUM_CLAUSES[terms.premium_variant].format(
        label=label, Label=_cap_first(label), amount=_premium_amount_text(terms)
    )
    method_sentence = _METHOD_CLAUSES[terms.method][terms.method_variant].format(label=label)
    fee_sentence = _fee_sentence(terms, doc_name)
    refund_clause = f"Otherwise, {_lower_first(method_sentence)} {fee_sentence}".rstrip()

    state_name = _STATE_NAMES[deal.state]
    insured = terms.form == "insurance_certificate"
    regulators = _INSURANCE_REGULATORS if insured else _CREDIT_REGULATORS
    notice = _NOTICES[index % len(_NOTICES)].format(
        doc=doc_name, regulator=regulators[deal.state], state_name=state_name
    )

    doc = _Doc(
        deal=deal,
        index=index,
        vin=_vin(deal.vin_stem, deal.year, deal.vin_tail),
        start_us=start.strftime("%m/%d/%Y"),
        start_long=f"{_MONTHS[start.month - 1]} {start.day}, {start.year}",
        cash_price=_money(cash_price),
        down_payment=_money(down_payment),
        amount_financed=_money(amount_financed),
        payment=_money(payment),
        msrp=_money(Decimal(deal.msrp), cents=False),
        deductible_cap=_money(Decimal(terms.deductible_cap), cents=False),
        max_benefit=_money(Decimal(terms.max_benefit), cents=False),
        label=label,
        premium_clause=premium_clause,
        refund_clause=refund_clause,
        free_look_days=_FREE_LOOK_DAYS.get(deal.state, 30),
        state_name=state_name,
        notice=notice,
    )
    text = layout(doc)
    if terms.ocr == "upper":
        return _ocr(text, width=64, upper=True)
    if terms.ocr == "wrap":
        return _ocr(text, width=47, upper=False)
    return text


def _build_contract(index: int, deal: _Deal, terms: _Terms) -> dict[str, Any]:
    return {
        "account_number": deal.account_number,
        "customer_name": deal.customer_name,
        "dealer": deal.dealer,
        "lender": deal.lender,
        "vehicle": {
            "year": deal.year,
            "make": deal.make,
            "model": deal.model,
            "vin": _vin(deal.vin_stem, deal.year, deal.vin_tail),
        },
        "contract_start_date": deal.start,
        "term_months": deal.term_months,
        "state": deal.state,
        "document_text": _document_text(index, deal, terms),
        "pdf_path": f"GAP-{deal.account_number}.pdf",
        "expected": {
            "gap_insurance_premium": terms.premium,
            "refund_calculation_method": terms.method,
            "cancellation_fee": terms.fee,
        },
    }


def demo_contracts() -> list[dict[str, Any]]:
    """Return the 20 demo GAP contracts, freshly built and identical on every call.

    Each dict has: account_number, customer_name, dealer, lender, vehicle
    (year, make, model, vin), contract_start_date (ISO), term_months, state,
    document_text, pdf_path ("GAP-<account_number>.pdf") and expected
    (gap_insurance_premium, refund_calculation_method, cancellation_fee) -- the
    values a correct extraction of document_text returns.
    """
    return [_build_contract(index, deal, terms) for index, (deal, terms) in enumerate(_CONTRACTS)]
