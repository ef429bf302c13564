"""Jobs: `target` as text, not 200 characters.

A UTM fix of a links file names its target by a URI holding two absolute paths (the fixed
copy and the original), which can be longer than any fixed width.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("target", type_=sa.Text(), existing_type=sa.String(200),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("target", type_=sa.String(200), existing_type=sa.Text(),
                           existing_nullable=False)
