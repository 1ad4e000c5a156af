from __future__ import annotations

import uuid


class RandomIdGenerator:
    def new_id(self) -> uuid.UUID:
        return uuid.uuid4()
