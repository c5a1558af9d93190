"""The 20 demo deals: who bought what, and the GAP terms each contract states."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deal:
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
class Terms:
    """The GAP product terms of one contract and how its text words them."""

    form: str  # key of FORMS: which layout renders the contract
    premium: str  # canonical amount, e.g. "795.00"
    premium_label: str  # what this contract calls the premium
    premium_style: str  # "cents" ($795.00), "whole" ($795) or "words"
    premium_variant: int  # index into PREMIUM_CLAUSES
    method: str  # one of REFUND_METHODS
    method_variant: int  # index into METHOD_CLAUSES[method]
    fee: str | None  # canonical cancellation fee; None when the text is silent
    fee_style: str  # "amount", "words", "none" or "silent"
    fee_variant: int = 0  # index into FEE_CLAUSES[fee_style]
    fee_cents: bool = True  # "$50.00" rather than "$50"
    deductible_cap: int = 1000
    max_benefit: int = 50000
    ocr: str | None = None  # "upper" or "wrap": imitate OCR output of a scan


# --- The 20 contracts --------------------------------------------------------

CONTRACTS: tuple[tuple[Deal, Terms], ...] = (
    (
        Deal("4350948342", "Maria L. Gonzalez", "Sunbelt Toyota", "Mesa, Arizona",
              "Desert Sky Federal Credit Union", "AZ", 2022, "Toyota", "Camry SE",
              "4T1G11AK", "U624817", "2022-03-14", 72, "27480.00", "3000.00", "5.89", "28855.00"),
        Terms("dealer_addendum", "795.00", "GAP charge", "cents", 0,
               "pro_rata", 0, "50.00", "amount", 0),
    ),
    (
        Deal("1187203564", "James R. Whitfield", "Lone Star Ford", "Waco, Texas",
              "Brazos Valley Auto Finance", "TX", 2023, "Ford", "F-150 XLT SuperCrew",
              "1FTFW1E5", "KD21907", "2023-06-02", 84, "52900.00", "5000.00", "7.49", "55640.00"),
        Terms("administered_waiver", "1095.00", "cost of this Waiver", "whole", 0,
               "rule_of_78", 0, "75.00", "amount", 1, fee_cents=False, max_benefit=75000),
    ),
    (
        Deal("2093417785", "Aisha N. Thompson", "Peachtree Honda", "Duluth, Georgia",
              "Magnolia Community Credit Union", "GA", 2021, "Honda", "CR-V EX",
              "5J6RW2H5", "L004215", "2021-09-20", 60, "30150.00", "4500.00", "3.99", "31370.00"),
        Terms("debt_cancellation", "595.00", "debt cancellation fee", "cents", 1,
               "pro_rata", 1, "0.00", "none", 2, deductible_cap=500),
    ),
    (
        Deal("3301856420", "Robert J. Kowalski", "Lakeshore Chevrolet", "Muskegon, Michigan",
              "Great Lakes Members Credit Union", "MI", 2024, "Chevrolet", "Silverado 1500 LT",
              "1GCUDDED", "Z154238", "2024-01-11", 72, "51795.00", "6000.00", "6.74", "54395.00"),
        Terms("dealer_addendum", "895.00", "Addendum price", "words", 0,
               "short_rate", 0, "50.00", "words", 0, max_benefit=75000),
    ),
    (
        Deal("5729046613", "Emily S. Nguyen", "Bay Cities Nissan", "Hayward, California",
              "Pacific Crest Auto Credit", "CA", 2022, "Nissan", "Rogue SV",
              "5N1BT3BB", "C712064", "2022-11-05", 66, "31995.00", "2500.00", "8.25", "32840.00"),
        Terms("administered_waiver", "699.00", "GAP price", "cents", 2,
               "pro_rata", 2, "0.00", "none", 0),
    ),
    (
        Deal("6604132987", "Daniel K. O'Brien", "Liberty Hyundai", "King of Prussia, Pennsylvania",
              "Keystone State Lending Corp.", "PA", 2023, "Hyundai", "Tucson SEL",
              "5NMJBCAE", "U183390", "2023-04-18", 75, "33450.00", "3500.00", "9.19", "34160.00"),
        Terms("insurance_certificate", "1195.00", "GAP premium", "cents", 0,
               "actuarial", 0, "25.00", "amount", 2),
    ),
    (
        Deal("7012598346", "Priya Raman", "Capital City Kia", "Richmond, Virginia",
              "Old Dominion Auto Finance", "VA", 2024, "Kia", "Telluride EX",
              "5XYP3DGC", "G512876", "2024-05-27", 72, "45890.00", "8000.00", "6.29", "46985.00"),
        Terms("dealer_addendum", "495.00", "Waiver charge", "cents", 3,
               "pro_rata", 3, None, "silent", deductible_cap=500),
    ),
    (
        Deal("8145730092", "Marcus D. Bell", "Gulf Coast Chrysler Dodge Jeep Ram",
              "Pensacola, Florida", "Panhandle Coastal Credit Union", "FL", 2021, "Jeep",
              "Grand Cherokee Limited", "1C4RJFBG", "C604118", "2021-07-09", 72, "41250.00",
              "4000.00", "7.99", "44620.00"),
        Terms("debt_cancellation", "1295.00", "GAP charge", "cents", 0,
               "rule_of_78", 1, "50.00", "amount", 3, ocr="upper"),
    ),
    (
        Deal("9268401175", "Hannah E. Larson", "North Star Subaru", "Bloomington, Minnesota",
              "Twin Lakes Credit Union", "MN", 2023, "Subaru", "Outback Premium",
              "4S4BTAFC", "3177052", "2023-02-21", 60, "33720.00", "5000.00", "4.49", "34375.00"),
        Terms("administered_waiver", "650.00", "Waiver price", "whole", 1,
               "short_rate", 1, "0.00", "none", 1, deductible_cap=750),
    ),
    (
        Deal("1450392866", "Carlos A. Medina", "Rio Grande Ram", "Albuquerque, New Mexico",
              "Sandia Mountain Credit Union", "NM", 2022, "Ram", "1500 Big Horn Crew Cab",
              "1C6SRFFT", "N318804", "2022-08-30", 84, "49980.00", "5500.00", "8.99", "53215.00"),
        Terms("insurance_certificate", "995.00", "GAP premium", "cents", 3,
               "actuarial", 1, "75.00", "amount", 0, fee_cents=False, max_benefit=75000),
    ),
    (
        Deal("2876104539", "Olivia P. Chen", "Evergreen Volkswagen", "Lynnwood, Washington",
              "Cascade Auto Lending", "WA", 2025, "Volkswagen", "Jetta SE",
              "3VWEM7BU", "M019437", "2025-02-03", 60, "25640.00", "2000.00", "5.49", "26215.00"),
        Terms("dealer_addendum", "425.00", "GAP price", "cents", 1,
               "pro_rata", 0, "75.00", "words", 1),
    ),
    (
        Deal("3519827760", "Tyrone M. Jackson", "Music City Toyota", "Nashville, Tennessee",
              "Cumberland Valley Bank", "TN", 2024, "Toyota", "Highlander XLE",
              "5TDHZRBH", "S204661", "2024-09-16", 72, "47300.00", "7500.00", "6.99", "48420.00"),
        Terms("administered_waiver", "845.00", "cost of this Waiver", "whole", 0,
               "rule_of_78", 2, "50.00", "amount", 1, fee_cents=False),
    ),
    (
        Deal("4082665193", "Sarah B. Mitchell", "Queen City Mazda", "Cincinnati, Ohio",
              "Ohio Valley Members Credit Union", "OH", 2023, "Mazda", "CX-5 2.5 S Preferred",
              "JM3KFBCM", "0148213", "2023-10-02", 60, "31890.00", "3000.00", "5.99", "32695.00"),
        Terms("debt_cancellation", "745.00", "Agreement price", "words", 2,
               "actuarial", 2, None, "silent"),
    ),
    (
        Deal("5937210448", "Kevin T. Park", "Empire Honda", "Yonkers, New York",
              "Hudson Valley Auto Finance", "NY", 2022, "Honda", "Accord Sport",
              "1HGCV1F3", "A065532", "2022-05-23", 60, "29870.00", "3000.00", "4.79", "30515.00"),
        Terms("insurance_certificate", "549.00", "GAP premium", "cents", 1,
               "pro_rata", 1, "0.00", "none", 4),
    ),
    (
        Deal("6341089572", "Jessica A. Romero", "Front Range Chevrolet", "Aurora, Colorado",
              "Rocky Mountain Employees Credit Union", "CO", 2021, "Chevrolet", "Equinox LT",
              "3GNAXKEV", "L301527", "2021-12-13", 72, "28750.00", "2500.00", "6.49", "29895.00"),
        Terms("administered_waiver", "1050.00", "GAP price", "cents", 3,
               "short_rate", 2, "35.00", "words", 1, ocr="wrap"),
    ),
    (
        Deal("7790453316", "William H. Carter", "Tar Heel Ford", "Raleigh, North Carolina",
              "Carolina Piedmont Credit Union", "NC", 2024, "Ford", "Explorer XLT",
              "1FMSK8DH", "GA11835", "2024-03-08", 72, "43615.00", "5000.00", "7.24", "45410.00"),
        Terms("insurance_certificate", "899.00", "Certificate premium", "whole", 2,
               "actuarial", 3, "50.00", "amount", 2),
    ),
    (
        Deal("8623917054", "Lauren E. Fischer", "Prairie State Nissan", "Naperville, Illinois",
              "Heartland Members Credit Union", "IL", 2023, "Nissan", "Altima 2.5 SV",
              "1N4BL4DV", "N342780", "2023-07-19", 60, "27325.00", "2500.00", "6.19", "28270.00"),
        Terms("dealer_addendum", "399.00", "GAP Waiver fee", "cents", 0,
               "pro_rata", 2, "25.00", "words", 0, fee_cents=False),
    ),
    (
        Deal("9054786231", "Andre L. Dubois", "Bayou Hyundai", "Metairie, Louisiana",
              "Crescent City Auto Finance", "LA", 2022, "Hyundai", "Elantra SEL",
              "5NPLM4AG", "H061274", "2022-01-28", 72, "23180.00", "1500.00", "10.49", "23795.00"),
        Terms("debt_cancellation", "1149.00", "debt cancellation fee", "cents", 0,
               "rule_of_78", 3, "0.00", "none", 0),
    ),
    (
        Deal("1938462705", "Megan R. O'Connor", "Bay State Subaru", "Worcester, Massachusetts",
              "Minuteman Community Credit Union", "MA", 2025, "Subaru", "Forester Sport",
              "JF2SLDKC", "H215598", "2025-04-07", 60, "35260.00", "4000.00", "5.29", "36120.00"),
        Terms("administered_waiver", "695.00", "Waiver price", "cents", 2,
               "short_rate", 3, "40.00", "amount", 3, deductible_cap=1500),
    ),
    (
        Deal("2460135879", "David Y. Kim", "Silver State Kia", "Henderson, Nevada",
              "High Desert Auto Credit", "NV", 2024, "Kia", "Sorento LX",
              "5XYRG4LC", "G289013", "2024-11-14", 84, "34990.00", "3000.00", "8.49", "35890.00"),
        Terms("debt_cancellation", "1245.00", "GAP Agreement charge", "whole", 3,
               "actuarial", 0, "0.00", "none", 3, max_benefit=60000),
    ),
)
