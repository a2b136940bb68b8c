# The count itself is filled in by referrals' migration 0008 (regions never reads referrals).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('regions', '0002_active_help_text'),
    ]

    operations = [
        migrations.AddField(
            model_name='resourcespecialist',
            name='open_referral_count',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='open referrals'),
        ),
    ]
