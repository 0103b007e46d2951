"""The domain vocabulary: one noun keeps one name in the models, the graph and the API.

Aligned with FollowTheMoney (Ownership, Sanction, Debt, ...) and OCDS (procedure, status).
"""
from django.db import models


class EntityKind(models.TextChoices):
    COMPANY = "company", "Company"
    PERSON = "person", "Person"
    PUBLIC_BODY = "public_body", "Public body"
    ORGANIZATION = "organization", "Organization"
    COUNTRY = "country", "Country"
    SITE = "site", "Site"


class RecordKind(models.TextChoices):
    OWNERSHIP = "ownership", "Ownership / control"
    ROLE = "role", "Role"
    CONTRACT = "contract", "Tender / contract"
    BAN = "ban", "Ban / restriction"
    LOAN = "loan", "Loan"
    DONATION = "donation", "Donation"
    DEPLOYMENT = "deployment", "Deployment"
    INVESTIGATION = "investigation", "Investigation / raid"
    COURT_CASE = "court_case", "Court case"
    STATEMENT = "statement", "Statement"


class Workflow(models.TextChoices):
    DRAFT = "draft", "Draft"
    REVIEW = "review", "In review"
    PUBLISHED = "published", "Published"
    RETRACTED = "retracted", "Retracted"


# What "subject" and "object" mean for each kind of record, for forms and pages.
ROLES = {
    RecordKind.OWNERSHIP: ("owner", "owned"),
    RecordKind.ROLE: ("person", "organization"),
    RecordKind.CONTRACT: ("buyer", "supplier"),
    RecordKind.BAN: ("authority", "target"),
    RecordKind.LOAN: ("lender", "borrower"),
    RecordKind.DONATION: ("donor", "recipient"),
    RecordKind.DEPLOYMENT: ("vendor", "deployed at"),
    RecordKind.INVESTIGATION: ("authority", "target"),
    RecordKind.COURT_CASE: ("court", "party"),
    RecordKind.STATEMENT: ("speaker", "about"),
}

# The status values each kind of record may take (empty means unknown).
STATUSES = {
    RecordKind.OWNERSHIP: ["active", "ended"],
    RecordKind.ROLE: ["current", "former"],
    RecordKind.CONTRACT: ["planned", "awarded", "completed", "cancelled", "blocked"],
    RecordKind.BAN: ["in_force", "lifted", "annulled", "proposed"],
    RecordKind.LOAN: ["active", "repaid"],
    RecordKind.DONATION: ["announced", "delivered"],
    RecordKind.DEPLOYMENT: ["active", "removed", "banned", "cancelled", "planned"],
    RecordKind.INVESTIGATION: ["open", "closed"],
    RecordKind.COURT_CASE: ["pending", "decided"],
    RecordKind.STATEMENT: [],
}

PROCEDURES = ["open", "simplified", "single_bidder", "no_tender", "donation_linked", "selective"]

AMOUNT_KINDS = ["value", "outstanding", "overpayment", "total"]
