"""Carts: lines of (sku, unit price in cents, quantity)."""

from dataclasses import dataclass, field


@dataclass
class Line:
    sku: str
    unit_cents: int
    quantity: int

    @property
    def cents(self) -> int:
        return self.unit_cents * self.quantity


@dataclass
class Cart:
    lines: list = field(default_factory=list)

    def add(self, sku: str, unit_cents: int, quantity: int = 1) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        for line in self.lines:
            if line.sku == sku and line.unit_cents == unit_cents:
                line.quantity += quantity
                return
        self.lines.append(Line(sku, unit_cents, quantity))

    def remove(self, sku: str) -> None:
        self.lines = [line for line in self.lines if line.sku != sku]

    @property
    def subtotal_cents(self) -> int:
        return sum(line.cents for line in self.lines)

    @property
    def items(self) -> int:
        return sum(line.quantity for line in self.lines)
