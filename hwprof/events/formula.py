"""Metric formulas: arithmetic over event names, checked when read and evaluated without eval()."""

from __future__ import annotations

import ast
import re

from hwprof.events.standard import EventMapError

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_.]*)|(.))")


class Formula:
    """An arithmetic expression over event names: + - * / ( ), numbers and names."""

    def __init__(self, text: str):
        self.text = text
        self.names: list[str] = []
        pieces = []
        for number, name, other in _TOKEN.findall(text):
            if name:
                if name not in self.names:
                    self.names.append(name)
                pieces.append(f"_{self.names.index(name)}")
            elif number:
                pieces.append(number)
            elif other.strip():
                if other not in "+-*/()":
                    raise EventMapError(f"formula {text!r}: unexpected {other!r}")
                pieces.append(other)
        try:
            self._tree = ast.parse(" ".join(pieces), mode="eval").body
        except SyntaxError:
            raise EventMapError(f"formula {text!r} is not a valid expression") from None
        self._check(self._tree)

    def _check(self, node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self._check(node.operand)
        elif not (isinstance(node, ast.Name) or (isinstance(node, ast.Constant) and isinstance(node.value, (int, float)))):
            raise EventMapError(f"formula {self.text!r}: only + - * / ( ), numbers and event names are allowed")

    def evaluate(self, values: dict[str, float | None]) -> float | None:
        """The formula's value, or None when an input is missing or a division is by zero."""
        args = [values.get(n) for n in self.names]
        if any(a is None for a in args):
            return None

        def ev(node):
            if isinstance(node, ast.Constant):
                return float(node.value)
            if isinstance(node, ast.Name):
                return float(args[int(node.id[1:])])
            if isinstance(node, ast.UnaryOp):
                return -ev(node.operand)
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if right == 0:
                raise ZeroDivisionError
            return left / right

        try:
            return ev(self._tree)
        except ZeroDivisionError:
            return None
