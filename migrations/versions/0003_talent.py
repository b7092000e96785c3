"""talent maps: clusters, cluster history, placements detail, relocation schemes, API tokens

Issue 8. Existing placements (none in practice) become current; units gain strategic-role
attributes like agencies; settings versions gain a note.

Revision ID: 0003_talent
Revises: 0002_bank
Create Date: 2026-11-25 09:35:04.975498

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0003_talent'
down_revision = '0002_bank'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clusters',
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name_id', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('number BETWEEN 1 AND 5', name=op.f('ck_clusters_number_range')),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_clusters'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('cluster_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('unit_label', sa.String(length=240), nullable=True),
    sa.Column('old_cluster', sa.Integer(), nullable=True),
    sa.Column('new_cluster', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('new_cluster IS NULL OR new_cluster BETWEEN 1 AND 5', name=op.f('ck_cluster_changes_new_cluster_range')),
    sa.CheckConstraint('old_cluster IS NULL OR old_cluster BETWEEN 1 AND 5', name=op.f('ck_cluster_changes_old_cluster_range')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_cluster_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_cluster_changes_agency_id_agencies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_cluster_changes_unit_id_units'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cluster_changes'))
    )
    with op.batch_alter_table('cluster_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cluster_changes_agency_id'), ['agency_id'], unique=False)

    op.create_table('relocation_schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('movers', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('stage_labels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('movers IS NULL OR movers >= 0', name=op.f('ck_relocation_schemes_movers_nonnegative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_relocation_schemes_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relocation_schemes')),
    sa.UniqueConstraint('code', name=op.f('uq_relocation_schemes_code'))
    )
    op.create_table('relocation_capacities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('cluster', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.CheckConstraint('capacity >= 0', name=op.f('ck_relocation_capacities_capacity_nonnegative')),
    sa.CheckConstraint('cluster BETWEEN 1 AND 5', name=op.f('ck_relocation_capacities_cluster_range')),
    sa.CheckConstraint('stage >= 1', name=op.f('ck_relocation_capacities_stage_positive')),
    sa.ForeignKeyConstraint(['scheme_id'], ['relocation_schemes.id'], name=op.f('fk_relocation_capacities_scheme_id_relocation_schemes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_relocation_capacities')),
    sa.UniqueConstraint('scheme_id', 'cluster', 'stage', name=op.f('uq_relocation_capacities_scheme_id_cluster_stage'))
    )
    with op.batch_alter_table('talent_placements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_current', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('levels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.create_index('ix_talent_placements_settings_current', ['settings_id', 'is_current', 'user_id'], unique=False)

    with op.batch_alter_table('talent_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('strategic_role', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))



def downgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('strategic_role')

    with op.batch_alter_table('talent_settings', schema=None) as batch_op:
        batch_op.drop_column('note')

    with op.batch_alter_table('talent_placements', schema=None) as batch_op:
        batch_op.drop_index('ix_talent_placements_settings_current')
        batch_op.drop_column('detail')
        batch_op.drop_column('levels')
        batch_op.drop_column('is_current')

    op.drop_table('relocation_capacities')
    op.drop_table('relocation_schemes')
    with op.batch_alter_table('cluster_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cluster_changes_agency_id'))

    op.drop_table('cluster_changes')
    op.drop_table('api_tokens')
    op.drop_table('clusters')
