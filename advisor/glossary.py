"""One meaning per word: the glossary the app and the README share (the text lives in the option registry)."""

from advisor.options import GLOSSARY

__all__ = ["GLOSSARY"]
