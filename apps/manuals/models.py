from __future__ import annotations

from django.db import models


class Manual(models.Model):
    class Kind(models.TextChoices):
        PDF = "pdf", "PDF"
        HTML = "html", "HTML"

    class Status(models.TextChoices):
        MISSING = "missing", "Missing"
        QUEUED = "queued", "Queued"
        FETCHING = "fetching", "Fetching"
        EXTRACTING = "extracting", "Extracting"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class DocumentKind(models.TextChoices):
        OWNERS_MANUAL = "owners_manual", "Owner's manual"
        REFERENCE = "reference", "Reference manual"
        PARAMETER_GUIDE = "parameter_guide", "Parameter guide"
        MIDI_IMPLEMENTATION = "midi_implementation", "MIDI implementation"
        QUICK_START = "quick_start", "Quick start"
        OTHER = "other", "Other"

    title = models.CharField(max_length=300, blank=True)
    document_kind = models.CharField(
        max_length=24, choices=DocumentKind.choices, default=DocumentKind.OWNERS_MANUAL
    )
    language = models.CharField(
        max_length=8, blank=True, default="en", help_text="ISO 639-1 code, e.g. en or he."
    )
    source_url = models.URLField(max_length=2000, blank=True)
    backup_url = models.URLField(max_length=2000, blank=True)
    uploaded_file = models.FileField(
        upload_to="manuals/uploads/",
        blank=True,
        help_text="A PDF uploaded by staff, used instead of the source URL.",
    )
    kind = models.CharField("format", max_length=8, choices=Kind.choices, default=Kind.PDF)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.MISSING, db_index=True
    )
    error = models.TextField(
        blank=True,
        help_text="Why the document could not be read, in words the chat shows customers.",
    )
    progress = models.FloatField(default=0.0)
    etag = models.CharField(max_length=300, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    stored_file = models.FileField(upload_to="manuals/stored/", blank=True)
    version = models.PositiveIntegerField(
        default=0, help_text="Goes up each time new text is extracted; caches key on it."
    )
    fetched_at = models.DateTimeField(null=True, blank=True)
    # A fetch claims the row until lease_until; a worker that dies leaves an expired lease
    # that the next request reclaims, so a manual is never stuck in "fetching".
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    lease_token = models.CharField(max_length=32, blank=True, editable=False)
    extracted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_url"],
                condition=~models.Q(source_url=""),
                name="one_manual_per_url",
            )
        ]

    def __str__(self) -> str:
        return self.title or self.source_url or f"manual {self.pk}"


class DocumentLink(models.Model):
    """A document of one product, or of a family (then of every product in it)."""

    class Origin(models.TextChoices):
        CATALOG = "catalog", "Catalog import"
        DISCOVERY = "discovery", "Found on a vendor page"
        STAFF = "staff", "Staff"

    manual = models.ForeignKey(Manual, on_delete=models.CASCADE, related_name="links")
    product = models.ForeignKey(
        "products.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="document_links",
    )
    family = models.ForeignKey(
        "products.Family",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="document_links",
    )
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.STAFF)
    provenance = models.CharField(
        max_length=2000, blank=True, help_text="Where the link came from (a page URL, a file)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(product__isnull=False, family__isnull=True)
                    | models.Q(product__isnull=True, family__isnull=False)
                ),
                name="document_link_one_target",
            ),
            models.UniqueConstraint(
                fields=["manual", "product"],
                condition=models.Q(product__isnull=False),
                name="one_link_per_product_document",
            ),
            models.UniqueConstraint(
                fields=["manual", "family"],
                condition=models.Q(family__isnull=False),
                name="one_link_per_family_document",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manual} → {self.product or self.family}"


class DiscoverySource(models.Model):
    """A vendor page that links to documents (a support index, a product page): not a manual.

    Discovery reads it once per run and looks for the documents of each of its targets.
    """

    class Status(models.TextChoices):
        NEW = "new", "Not read yet"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Being read"
        DONE = "done", "Read"
        FAILED = "failed", "Could not be read"

    url = models.URLField(max_length=2000, unique=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    error = models.TextField(blank=True, help_text="Why the page could not be read.")
    links_found = models.PositiveIntegerField(null=True, blank=True)
    pages_read = models.PositiveIntegerField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # A run claims the row until lease_until, so one page is read by one worker at a time.
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class DiscoveryTarget(models.Model):
    """A product whose documents are looked for on a source page, and what was found."""

    class State(models.TextChoices):
        PENDING = "pending", "Not looked for yet"
        FOUND = "found", "Documents attached"
        REVIEW = "review", "Waiting for a staff check"
        NOTHING = "nothing", "Nothing found"
        FAILED = "failed", "Page could not be read"

    source = models.ForeignKey(DiscoverySource, on_delete=models.CASCADE, related_name="targets")
    product = models.ForeignKey(
        "products.Product", on_delete=models.CASCADE, related_name="discovery_targets"
    )
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    reason = models.TextField(blank=True, help_text="A sentence a customer can read.")
    documents_found = models.PositiveIntegerField(default=0)
    provenance = models.CharField(max_length=2000, blank=True, help_text="Who named this page.")
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "product"]
        constraints = [
            models.UniqueConstraint(fields=["source", "product"], name="one_target_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.product} on {self.source}"


class DocumentCandidate(models.Model):
    """A link discovery was not sure of: staff accept it (it is attached) or reject it."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    product = models.ForeignKey(
        "products.Product", on_delete=models.CASCADE, related_name="document_candidates"
    )
    source = models.ForeignKey(
        DiscoverySource,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="candidates",
    )
    url = models.URLField(max_length=2000)
    page_url = models.URLField(max_length=2000, blank=True, help_text="The page linking to it.")
    link_text = models.CharField(max_length=500, blank=True)
    document_kind = models.CharField(
        max_length=24, choices=Manual.DocumentKind.choices, default=Manual.DocumentKind.OTHER
    )
    language = models.CharField(max_length=8, blank=True)
    score = models.FloatField(default=0.0)
    reasons = models.JSONField(default=list, blank=True)
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    manual = models.ForeignKey(
        Manual, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-score", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["product", "url"], name="one_candidate_per_url")
        ]

    def __str__(self) -> str:
        return f"{self.link_text or self.url} for {self.product}"


class ManualPage(models.Model):
    manual = models.ForeignKey(Manual, on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveIntegerField(help_text="1-based, as a PDF viewer numbers pages.")
    title = models.CharField(max_length=300, blank=True)
    text = models.TextField()

    class Meta:
        ordering = ["manual", "number"]
        constraints = [
            models.UniqueConstraint(fields=["manual", "number"], name="unique_page_number")
        ]

    def __str__(self) -> str:
        return f"{self.manual} p. {self.number}"


class ManualIndexData(models.Model):
    """The passage index of a manual's current version, built by the worker at ingest.

    `lexical` is the serialised `ManualIndex` (units, passages, BM25 postings as flat arrays);
    `embeddings` the passages' vectors, float16 row-major. A manual is answerable lexically
    as soon as the row exists, and hybrid once `state` is hybrid.
    """

    class State(models.TextChoices):
        LEXICAL = "lexical", "Lexical"
        HYBRID = "hybrid", "Hybrid"

    manual = models.OneToOneField(Manual, on_delete=models.CASCADE, related_name="index_data")
    version = models.PositiveIntegerField()
    format = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.LEXICAL)
    passages = models.PositiveIntegerField()
    lexical = models.BinaryField()
    embeddings = models.BinaryField(null=True, blank=True)
    embedding_model = models.CharField(max_length=200, blank=True)
    embedding_dim = models.PositiveSmallIntegerField(default=0)
    embedded_passages = models.PositiveIntegerField(default=0)
    embedding_error = models.TextField(blank=True)
    lexical_seconds = models.FloatField(default=0.0)
    embedding_seconds = models.FloatField(null=True, blank=True)
    built_at = models.DateTimeField()
    embedded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"index of {self.manual_id} v{self.version} ({self.state})"

    @property
    def embedding_progress(self) -> float:
        return self.embedded_passages / self.passages if self.passages else 1.0


class StaffNote(models.Model):
    """What the shop knows that the manual does not (the warranty in Israel, store hours,
    service centres), written by an agent for a product or its family.

    Answers quote a note only once staff approved it in the admin; a note cites itself as the
    shop's own information, never as the manual.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    product = models.ForeignKey(
        "products.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="staff_notes",
    )
    family = models.ForeignKey(
        "products.Family",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="staff_notes",
        help_text="A note on the family serves every product in it.",
    )
    text = models.TextField(max_length=4000)
    manual = models.ForeignKey(
        Manual,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Optional: the manual page this note adds to or corrects.",
    )
    page = models.PositiveIntegerField(null=True, blank=True)
    language = models.CharField(
        max_length=8, blank=True, default="", help_text="ISO 639-1 code; empty for any language."
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    created_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # The chat message the note was saved from (a plain id: manuals does not know chats).
    source_message_id = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(product__isnull=False) | models.Q(family__isnull=False),
                name="manuals_staffnote_on_product_or_family",
            )
        ]
        permissions = [("approve_staffnote", "Can approve staff notes for answers")]

    def __str__(self) -> str:
        return self.text if len(self.text) <= 60 else self.text[:59] + "…"
