"""Pandera schemas: the workbooks' contract and the frames that flow through an import."""
