"""Reports: cases (id, origin_facility_id), so the scope check of hops outside a jurisdiction is index-only.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_cases_id_origin', 'cases', ['id', 'origin_facility_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_id_origin', table_name='cases')
