import django.core.validators
import django.db.models.deletion
from django.db import migrations, models

import apps.sessions.models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0002_periodic_tasks"),
    ]

    operations = [
        migrations.CreateModel(
            name="Site",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "key",
                    models.SlugField(
                        help_text="The embed's data-site value.", max_length=64, unique=True
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                (
                    "allowed_origins",
                    models.TextField(
                        help_text="The origins that may frame the chat, one per line (https://shop.example)."
                    ),
                ),
                (
                    "default_language",
                    models.CharField(
                        choices=[("he", "עברית"), ("en", "English")],
                        default="he",
                        help_text="The chat's language when the visitor's browser names neither.",
                        max_length=8,
                    ),
                ),
                (
                    "accent_colour",
                    models.CharField(
                        default="#0b5cad",
                        max_length=7,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^#[0-9a-fA-F]{6}$", "A colour is written #rrggbb."
                            )
                        ],
                    ),
                ),
                (
                    "text_colour",
                    models.CharField(
                        default="#ffffff",
                        max_length=7,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^#[0-9a-fA-F]{6}$", "A colour is written #rrggbb."
                            )
                        ],
                    ),
                ),
                (
                    "sessions_per_minute",
                    models.PositiveIntegerField(
                        default=300,
                        help_text="New chats a minute from this site, all its visitors together.",
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(10000),
                        ],
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"ordering": ["name"]},
        ),
        migrations.AddField(
            model_name="chatsession",
            name="language",
            field=models.CharField(
                choices=[("he", "עברית"), ("en", "English")],
                default=apps.sessions.models.default_language,
                help_text="The language the customer reads the chat in.",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="chatsession",
            name="site",
            field=models.ForeignKey(
                blank=True,
                help_text="The shop website the chat was opened from, when embedded.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="chat.site",
            ),
        ),
    ]
