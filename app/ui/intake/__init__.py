"""新建接件 at the 综合窗口: item picker, applicant and 代办人, application form, materials
checklist and attachments (file dialog, drag and drop, watched 高拍仪 folder)."""

from app.ui.intake.page import IntakePage

__all__ = ["IntakePage"]
