"""How a demo contract is printed: number and money formatting, OCR-like text, and the four form
layouts (dealer addendum, debt cancellation, administered waiver, insurance certificate)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

from pipeline.seed.clauses import ADMINISTRATORS, GROUP_POLICY, INSURER
from pipeline.seed.deals import Deal

# --- Formatting helpers ----------------------------------------------------

_VIN_VALUES: dict[str, int] = {
    **{str(digit): digit for digit in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_MODEL_YEAR_CODES = {2021: "M", 2022: "N", 2023: "P", 2024: "R", 2025: "S"}


def vin(stem: str, model_year: int, tail: str) -> str:
    """Assemble a VIN with a valid check digit (position 9), as real VINs have."""
    draft = f"{stem}0{_MODEL_YEAR_CODES[model_year]}{tail}"
    remainder = sum(_VIN_VALUES[char] * weight for char, weight in zip(draft, _VIN_WEIGHTS)) % 11
    return f"{stem}{'X' if remainder == 10 else remainder}{draft[9:]}"


# Spelled out here rather than via strftime("%B"), which follows the process locale.
MONTHS = (
    "January February March April May June July August September October November December"
).split()


def money(amount: Decimal, *, cents: bool = True) -> str:
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


def dollars_in_words(amount: Decimal, *, cents: bool) -> str:
    if amount != amount.to_integral_value():
        raise ValueError(f"only whole-dollar amounts are spelled out, got {amount}")
    return f"{number_words(int(amount))} dollars ({money(amount, cents=cents)})"


def monthly_payment(principal: Decimal, apr: Decimal, months: int) -> Decimal:
    """Level payment of a fully amortizing loan, rounded to the cent."""
    # A local context so a caller's decimal settings cannot change the output.
    with localcontext() as ctx:
        ctx.prec = 28
        rate = apr / Decimal(1200)
        payment = principal * rate / (1 - (1 + rate) ** -months)
        return payment.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def lower_first(sentence: str) -> str:
    # Only lowercase ordinary words: "The refund" -> "the refund", never "GAP" -> "gAP".
    if len(sentence) > 1 and sentence[0].isupper() and sentence[1].islower():
        return sentence[0].lower() + sentence[1:]
    return sentence


def cap_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def ocr(text: str, *, width: int, upper: bool) -> str:
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
class Doc:
    """Everything a form layout needs, already formatted as contract text."""

    deal: Deal
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


def _dealer_addendum(d: Doc) -> str:
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


def _debt_cancellation(d: Doc) -> str:
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


def _administered_waiver(d: Doc) -> str:
    deal = d.deal
    administrator = ADMINISTRATORS[d.index % len(ADMINISTRATORS)]
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


def _insurance_certificate(d: Doc) -> str:
    deal = d.deal
    return f"""CERTIFICATE OF GUARANTEED ASSET PROTECTION (GAP) INSURANCE
Issued by {INSURER} under Group Policy No. {GROUP_POLICY}
Certificate / Account Number: {deal.account_number}    Effective: {d.start_long}

PARTIES. Insured Debtor: {deal.customer_name}. Creditor and Lienholder: {deal.lender}. Issuing Agent/Dealer: {deal.dealer}, {deal.dealer_city}. "You" means the Insured Debtor; "we," "us" and "Company" mean {INSURER}.

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
FORMS: dict[str, tuple[Callable[[Doc], str], str]] = {
    "dealer_addendum": (_dealer_addendum, "Addendum"),
    "debt_cancellation": (_debt_cancellation, "Agreement"),
    "administered_waiver": (_administered_waiver, "Waiver"),
    "insurance_certificate": (_insurance_certificate, "Certificate"),
}

# Some states give a longer free-look period; the exact figure is only colour.
FREE_LOOK_DAYS: dict[str, int] = {"CA": 60, "NY": 60, "MA": 60}
