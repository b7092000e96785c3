"""item bank: calibration runs (progress, proposed parameters, fit, acceptance)

Revision ID: 0002_bank
Revises: 0001_initial
Create Date: 2026-11-25 09:05:50.786790

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0002_bank'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calibration_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('competency_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('progress', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.CheckConstraint("status IN ('running', 'done', 'failed')", name=op.f('ck_calibration_runs_status_valid')),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_calibration_runs_accepted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['competency_id'], ['competencies.id'], name=op.f('fk_calibration_runs_competency_id_competencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_calibration_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_runs'))
    )
    with op.batch_alter_table('calibration_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_runs_competency_id'), ['competency_id'], unique=False)



def downgrade():
    with op.batch_alter_table('calibration_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_runs_competency_id'))

    op.drop_table('calibration_runs')
